"""A year's document (file or request): every bad field named, the bundled years valid."""

from datetime import date

import pytest

from app.calendar import files
from app.calendar.files import CalendarFileError

GOOD = """
year = 2027
notice = "国办发明电〔2026〕X号"
days = [
  { date = 2027-01-01, kind = "holiday", name = "元旦" },
  { date = 2027-02-06, kind = "workday", name = "春节" },
]
"""


def problems(text: str, year: int | None = None) -> list[tuple[str, str]]:
    with pytest.raises(CalendarFileError) as raised:
        files.parse(text, year, source="2027.toml")
    return raised.value.problems


def fields(text: str, year: int | None = None) -> list[str]:
    return [path for path, _message in problems(text, year)]


def days(*entries: str) -> str:
    return "year = 2027\ndays = [\n" + ",\n".join(entries) + "\n]\n"


def test_a_good_year_is_read_in_date_order_whatever_its_layout():
    data = files.parse(GOOD)
    assert data.year == 2027 and data.notice == "国办发明电〔2026〕X号"
    assert [(d.date, d.kind, d.name) for d in data.days] == [
        (date(2027, 1, 1), "holiday", "元旦"), (date(2027, 2, 6), "workday", "春节")]
    assert (data.holidays, data.workdays) == (1, 1)
    reordered = days('{ date = 2027-02-06, kind = "workday", name = "春节" }',
                     '{ date = 2027-01-01, kind = "holiday", name = "元旦" }') + 'notice = "国办发明电〔2026〕X号"\n'
    assert files.parse(reordered).sha256() == data.sha256()


def test_a_date_outside_the_year_is_named():
    found = problems(days('{ date = 2027-01-01, kind = "holiday", name = "元旦" }',
                          '{ date = 2026-12-31, kind = "holiday", name = "元旦" }'))
    assert found[0][0] == "days.1.date" and "outside 2027" in found[0][1]


def test_an_adjusted_workday_on_a_weekday_is_named():
    found = problems(days('{ date = 2027-01-01, kind = "holiday", name = "元旦" }',
                          '{ date = 2027-02-05, kind = "workday", name = "春节" }'))  # a Friday
    assert found == [("days.1.date", "2027-02-05 is a Friday: only a Saturday or Sunday can be an adjusted "
                                     "working day (kind workday)")]


def test_a_date_listed_twice_is_named_with_its_first_place():
    found = problems(days('{ date = 2027-01-01, kind = "holiday", name = "元旦" }',
                          '{ date = 2027-01-02, kind = "holiday", name = "元旦" }',
                          '{ date = 2027-01-01, kind = "holiday", name = "元旦" }'))
    assert found == [("days.2.date", "2027-01-01 is listed twice (also days.0)")]


def test_an_unknown_kind_and_other_shapes_are_named():
    assert fields(days('{ date = 2027-01-01, kind = "festival", name = "元旦" }')) == ["days.0.kind"]
    assert fields(days('{ date = 2027-01-01, kind = "holiday" }')) == ["days.0.name"]
    assert fields(days('{ date = 2027-01-01, kind = "holiday", name = "元旦", off = true }')) == ["days.0.off"]
    assert fields(days('{ date = "1 January", kind = "holiday", name = "元旦" }')) == ["days.0.date"]
    assert fields("year = 2027\ndays = []\n") == ["days"]


def test_several_problems_are_named_at_once():
    assert fields(days('{ date = 2026-01-03, kind = "holiday", name = "元旦" }',
                       '{ date = 2027-01-04, kind = "workday", name = "元旦" }')) == ["days.0.date", "days.1.date"]


def test_the_year_must_be_known_and_agree():
    assert fields(GOOD, year=2028)[0] == "year"
    assert fields(GOOD.replace("year = 2027", "")) == ["year"]
    assert files.parse(GOOD.replace("year = 2027", ""), year=2027).year == 2027
    assert fields(days('{ date = 2027-02-06, kind = "workday", name = "春节" }')) == ["days"]  # no holiday at all
    assert problems("days = [", 2027)[0][1].startswith("invalid TOML")


def test_every_bundled_file_is_valid_and_named_after_its_year():
    years = [y.year for y in files.bundled()]
    assert years == list(range(2004, 2027))
    assert sorted(p.stem for p in files.BUNDLED_DIR.glob("*.toml")) == [str(y) for y in years]

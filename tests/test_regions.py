import pytest

from app.shared import regions


@pytest.mark.parametrize(
    ("scope", "region", "expected"),
    [
        ("100000", "440305", True),  # national covers everything
        ("150000", "150428", True),  # Inner Mongolia covers Karaqin Banner
        ("150000", "210402", False),
        ("150400", "150428", True),  # Chifeng covers Karaqin Banner
        ("150400", "150400", True),
        ("150400", "150502", False),  # Tongliao is not Chifeng
        ("150428", "150428", True),
        ("150428", "150429", False),  # a county covers only itself
        ("150428", "150400", False),  # nor its parent
        ("110000", "110101", True),  # municipality
    ],
)
def test_covers(scope, region, expected):
    assert regions.covers(scope, region) is expected


@pytest.mark.parametrize(
    ("code", "name"),
    [("150428", "喀喇沁旗"), ("150400", "赤峰市"), ("150000", "内蒙古自治区"), ("210400", "抚顺市"), ("100000", "全国")],
)
def test_known_divisions_have_names(code, name):
    assert regions.division_name(code) == name
    assert regions.is_valid_region(code)


@pytest.mark.parametrize("code", ["999999", "150499", "15042", "1504281", "15O428", "", "000000"])
def test_unknown_divisions_are_rejected(code):
    assert not regions.is_valid_region(code)


def test_historical_codes_stay_valid():
    # 崇文区 was merged in 2010; old ID numbers and ledgers still carry it.
    assert regions.division_name("110103") == "崇文区"


def _numdb_county(code: str) -> str | None:
    from stdnum import numdb

    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    return info.get("county")


def test_the_one_pass_table_answers_as_python_stdnum_does():
    """regions reads stdnum's division table itself (start-up reads it); for every code in it, and
    for codes around and between them, it finds what stdnum's own reader finds."""
    counties = regions._counties()
    assert counties is not None and len(counties) > 3000
    codes = set(counties) | {f"{n:06d}" for n in range(0, 1_000_000, 97)} | {c[:2] + "9999" for c in counties}
    assert [code for code in sorted(codes) if counties.get(code) != _numdb_county(code)] == []


def test_a_table_of_another_shape_is_read_by_stdnum(monkeypatch):
    assert regions.read_counties('# a comment\n11 province="北京市"\n  0101 county="东城区"\n') == {"110101": "东城区"}
    assert regions.read_counties('11 province="北京市"\n  0101-0102 county="东城区"\n') is None  # a range
    assert regions.read_counties('11 province="北京市"\n    01 district="东城区"\n') is None  # a third level
    assert regions.read_counties('  0101 county="东城区"\n') is None  # a county before any province
    monkeypatch.setattr(regions, "_counties", lambda: None)
    regions.division_name.cache_clear()
    try:
        assert regions.division_name("150428") == "喀喇沁旗"
        assert regions.division_name("110103") == "崇文区"
        assert not regions.is_valid_region("150499")
    finally:
        regions.division_name.cache_clear()

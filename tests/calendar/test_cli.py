"""python -m app calendar load / list, and setup loading the bundled years."""

import json

from sqlalchemy import text

from app.cli import main
from app.kit.db import write_session

YEAR_2027 = """# 2027 as the bureau typed it from the State Council's notice
year = 2027
days = [
  { date = 2027-01-01, kind = "holiday", name = "元旦" },
  { date = 2027-02-06, kind = "workday", name = "春节" },
]
"""


def test_load_a_year_from_a_file_settles_provisional_deadlines(tmp_path, capsys, scoring, due, clock):
    clock.set("2026-12-28")
    proposal_id = due.notify(scoring.register(), "p1", "2026-12-28", points=2)["proposal_id"]
    path = tmp_path / "2027.toml"
    path.write_text(YEAR_2027, encoding="utf-8")
    assert main(["calendar", "load", str(path)]) == 0
    out, err = capsys.readouterr()
    loaded = json.loads(out)
    assert (loaded["year"], loaded["source"], loaded["revision"], loaded["changed"]) == (2027, "cli", 1, True)
    assert loaded["loaded_by"].startswith("system:0 cli:") and loaded["recomputed"]["proposals"] == 1
    assert "loaded 2027 (revision 1)" in err
    assert due.get(f"/v1/score-proposals/{proposal_id}")["defence_deadline"] == "2027-01-05"
    assert main(["calendar", "load", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False

    assert main(["calendar", "list"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["year"] for r in rows] == list(range(2004, 2028)) and rows[-1]["source"] == "cli"
    assert "covered through 2027" in err


def test_a_bad_file_is_refused_naming_file_and_field(tmp_path, capsys):
    path = tmp_path / "2027.toml"
    path.write_text(YEAR_2027.replace('kind = "workday"', 'kind = "work"'), encoding="utf-8")
    assert main(["calendar", "load", str(path)]) == 2
    err = capsys.readouterr().err
    assert "2027.toml: days.1.kind: " in err and "Traceback" not in err
    assert main(["calendar", "load", str(tmp_path / "2028.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    wrong = tmp_path / "2028.toml"
    wrong.write_text(YEAR_2027, encoding="utf-8")  # a 2027 file named 2028
    assert main(["calendar", "load", str(wrong)]) == 2
    assert "2028.toml: year: is 2027" in capsys.readouterr().err


def test_setup_loads_the_bundled_years_a_database_lacks(engine, capsys):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM calendar_days WHERE year = 2026"))
        conn.execute(text("DELETE FROM calendar_years WHERE year = 2026"))
    assert main(["setup"]) == 0
    assert "calendar years loaded: 2026" in capsys.readouterr().err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT source, revision FROM calendar_years WHERE year = 2026")).one() == ("bundled", 1)
        assert conn.execute(text("SELECT count(*) FROM calendar_days WHERE year = 2026")).scalar() == 39
    assert main(["setup"]) == 0
    assert "calendar years" not in capsys.readouterr().err  # nothing more to load


def test_setup_keeps_a_year_an_administrator_corrected(tmp_path, capsys, engine):
    path = tmp_path / "2026.toml"
    path.write_text('year = 2026\ndays = [{ date = 2026-01-01, kind = "holiday", name = "元旦" }]\n', encoding="utf-8")
    assert main(["calendar", "load", str(path)]) == 0
    capsys.readouterr()
    assert main(["setup"]) == 0
    assert "kept as an administrator loaded them (the bundled file differs): 2026" in capsys.readouterr().err
    with write_session() as session:
        assert session.execute(text("SELECT source, revision FROM calendar_years WHERE year = 2026")).one() == ("cli", 2)


def test_the_help_explains_provisional_deadlines(capsys):
    try:
        main(["calendar", "--help"])
    except SystemExit:
        pass
    assert "provisional" in capsys.readouterr().out


def test_a_bad_bundled_year_stops_setup_naming_file_and_field(tmp_path, monkeypatch, capsys):
    from app.calendar import files

    (tmp_path / "2026.toml").write_text('year = 2026\ndays = [{ date = 2026-01-06, kind = "workday", name = "元旦" }]\n',
                                        encoding="utf-8")
    monkeypatch.setattr(files, "BUNDLED_DIR", tmp_path)
    assert main(["setup"]) == 2
    err = capsys.readouterr().err
    assert "2026.toml: days.0.date: 2026-01-06 is a Tuesday" in err and "Traceback" not in err

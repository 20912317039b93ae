"""Stored rulesets: seeding is repeatable, and a ruleset in force is never silently changed."""

import pytest
from sqlmodel import select

from app.kit.db import write_session
from app.scoring import catalog
from app.scoring.models import RulesetRecord
from app.scoring.rulesets import RulesetError, load_rulesets


def stored(engine):
    with write_session() as session:
        return {r.id: r.sha256 for r in session.exec(select(RulesetRecord))}


def test_seeding_again_adds_nothing(engine):
    before = stored(engine)
    with write_session() as session:
        assert catalog.sync_bundled(session) == []
    assert stored(engine) == before == {r.id: r.content_hash() for r in load_rulesets()}


def test_a_changed_file_under_a_stored_id_is_refused(engine, monkeypatch):
    before = stored(engine)
    changed = [r.model_copy(update={"thresholds": r.thresholds.model_copy(update={"suspension": 8})})
               if r.id == "national-2024" else r for r in load_rulesets()]
    monkeypatch.setattr(catalog, "load_rulesets", lambda: changed)
    with write_session() as session, pytest.raises(RulesetError) as raised:
        catalog.sync_bundled(session)
    assert "national-2024" in str(raised.value) and "new id" in str(raised.value)
    assert stored(engine) == before


@pytest.fixture
def broken_bundle(tmp_path, monkeypatch):
    """The bundled rulesets with Tianjin's suspension threshold made invalid."""
    from app.scoring import rulesets

    for path in rulesets.BUNDLED_DIR.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "tianjin-2024.toml":
            assert "\nsuspension = 9\n" in text
            text = text.replace("\nsuspension = 9\n", '\nsuspension = "nine"\n')
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(rulesets, "BUNDLED_DIR", tmp_path)


def test_a_bad_ruleset_file_stops_the_app_naming_the_field(broken_bundle):
    from app.main import create_app

    with pytest.raises(RulesetError, match=r"tianjin-2024\.toml: thresholds\.suspension: "):
        create_app()


def test_a_bad_ruleset_file_stops_setup_naming_the_field(broken_bundle, capsys):
    from app.cli import main

    assert main(["setup"]) == 2
    assert "tianjin-2024.toml: thresholds.suspension: " in capsys.readouterr().err

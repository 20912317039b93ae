"""The same migrations build the schema on SQLite and PostgreSQL, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import migrate
from app.models import metadata
from tests import dbutil


def test_upgrade_downgrade_upgrade_matches_the_models():
    with dbutil.empty_database("pct_mig") as (url, engine):
        migrate.upgrade(url)
        assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
        migrate.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
        migrate.upgrade(url)
        assert migrate.current_revisions(engine) == migrate.head_revisions()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], f"models and migrations disagree: {diff}"


def test_0010_fills_the_year_spans_of_stored_timelines():
    import json

    from sqlalchemy import text

    suspended = {"registered_on": "2020-01-01", "totals": {"2025": [["2025-12-01", 9]]}, "repaired": {},
                 "repair_effect": {}, "reregistrations": [],
                 "sanctions": [{"kind": "suspension", "trigger_entry_id": 1, "starts_on": "2025-12-01",
                                "imposed_until": "2026-01-31", "bar_until": None, "year": 2025, "total": 9,
                                "ruleset_id": "national-2024", "months": 2, "ends_on": None, "end_reason": None}]}
    empty = {"registered_on": "2020-01-01", "totals": {}, "repaired": {}, "repair_effect": {"7": 0},
             "sanctions": [], "reregistrations": []}
    with dbutil.empty_database("pct_mig") as (url, engine):
        migrate.upgrade(url, "0006")
        with engine.begin() as conn:
            for pid, timeline in ((1, suspended), (2, empty)):
                conn.execute(text(
                    "INSERT INTO practitioners (id, code, name, id_number_encrypted, id_number_hash, id_number_masked,"
                    " category, region, registered_on, created_at, updated_at) VALUES (:id, :code, 'x', 'x', :h, 'x',"
                    " 'physician', '210402', '2020-01-01', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"),
                    {"id": pid, "code": f"D21040200000{pid}", "h": str(pid)})
                conn.execute(text("INSERT INTO standings (practitioner_id, timeline, updated_at) "
                                  "VALUES (:id, :t, '2025-01-01 00:00:00')"), {"id": pid, "t": json.dumps(timeline)})
        migrate.upgrade(url)
        with engine.connect() as conn:
            spans = conn.execute(text("SELECT practitioner_id, first_year, last_year FROM standings "
                                      "ORDER BY practitioner_id")).all()
        assert [tuple(r) for r in spans] == [(1, 2025, 2026), (2, None, None)]


def test_readiness_reads_the_same_revisions_as_alembic():
    """/readyz compares revisions without importing Alembic; Alembic must agree with it."""
    from alembic.script import ScriptDirectory

    assert migrate.head_revisions() == set(ScriptDirectory(str(migrate.MIGRATIONS)).get_heads())
    with dbutil.empty_database("pct_mig") as (url, engine):
        assert migrate.current_revisions(engine) == set()  # never migrated
        migrate.upgrade(url, "0006")
        with engine.connect() as conn:
            assert migrate.current_revisions(engine) == set(MigrationContext.configure(conn).get_current_heads())
        assert migrate.current_revisions(engine) == {"0006"}


def test_0015_records_everyone_registered_once_in_the_standing_feed():
    from sqlalchemy import text

    with dbutil.empty_database("pct_mig") as (url, engine):
        migrate.upgrade(url, "0014")
        with engine.begin() as conn:
            for pid in (1, 2):
                conn.execute(text(
                    "INSERT INTO practitioners (id, code, name, id_number_encrypted, id_number_hash, id_number_masked,"
                    " category, region, registered_on, created_at, updated_at) VALUES (:id, :code, 'x', 'x', :h, 'x',"
                    " 'physician', '210402', '2020-01-01', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"),
                    {"id": pid, "code": f"D21040200000{pid}", "h": str(pid)})
            conn.execute(text("INSERT INTO standings (practitioner_id, timeline, first_year, last_year, updated_at) "
                              "VALUES (2, '{\"registered_on\": \"2020-01-01\"}', 2025, 2025, '2025-01-01 00:00:00')"))
        migrate.upgrade(url)
        with engine.connect() as conn:
            changes = conn.execute(text("SELECT code, version, region, first_year, timeline FROM standing_changes "
                                        "ORDER BY xid, id")).all()
            heads = conn.execute(text("SELECT practitioner_id, version FROM standing_feed_heads "
                                      "ORDER BY practitioner_id")).all()
        assert [tuple(r) for r in changes] == [("D210402000001", 1, "210402", None, None),
                                               ("D210402000002", 1, "210402", 2025, '{"registered_on": "2020-01-01"}')]
        assert [tuple(r) for r in heads] == [(1, 1), (2, 1)]


def test_revision_names_read_from_their_lines_or_else_from_the_syntax_tree():
    read = migrate._revision_names
    assert read("revision = '0016'\ndown_revision = '0015'\n") == {"revision": "0016", "down_revision": "0015"}
    assert read('revision: str = "0016"\ndown_revision: str | None = None\n') == {
        "revision": "0016", "down_revision": None}
    assert read("revision = '0017'\ndown_revision = ('0015', '0016')\n") == {
        "revision": "0017", "down_revision": ("0015", "0016")}
    # a merge whose parents are written over several lines: the whole file is parsed
    assert read("revision = '0018'\ndown_revision = (\n    '0016',\n    '0017',\n)\n") == {
        "revision": "0018", "down_revision": ("0016", "0017")}

"""Migration 0016 keys notice_rows by (notice_id, position): published rows survive it both ways."""

from sqlalchemy import inspect, text

from app import migrate
from tests import dbutil

NOTICE = ("INSERT INTO notices (id, region, year, revision, as_of, issued_by, published_at, header, summary, "
          "row_count, sha256) VALUES (:id, '150400', 2025, :id, '2025-12-20', 'x', '2025-12-20 00:00:00', '{}', '{}', "
          "2, :sha)")
ROWS = [(1, 1, 11, 9, '{"name":"王**"}'), (1, 2, 10, 3, '{"name":"李**"}'), (2, 1, 10, 4, '{"name":"李**"}')]


def _rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT notice_id, position, practitioner_id, points, data FROM notice_rows ORDER BY notice_id, position"))]


def test_0016_keeps_every_published_row_and_their_order():
    with dbutil.empty_database("pct_mig") as (url, engine):
        migrate.upgrade(url, "0015")
        with engine.begin() as conn:
            for notice_id in (1, 2):
                conn.execute(text(NOTICE), {"id": notice_id, "sha": str(notice_id) * 64})
            for row in ROWS:
                conn.execute(text("INSERT INTO notice_rows (notice_id, position, practitioner_id, points, data) "
                                  "VALUES (:n, :p, :pid, :points, :data)"),
                             dict(zip(("n", "p", "pid", "points", "data"), row)))
        migrate.upgrade(url, "0016")
        assert _rows(engine) == ROWS
        columns = inspect(engine)
        assert columns.get_pk_constraint("notice_rows")["constrained_columns"] == ["notice_id", "position"]
        assert columns.get_foreign_keys("notice_rows") == []
        assert [i["column_names"] for i in columns.get_indexes("notice_rows")] == [["notice_id", "practitioner_id"]]
        migrate.downgrade(url, "0015")
        assert _rows(engine) == ROWS
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(DISTINCT id) FROM notice_rows")).scalar() == len(ROWS)
        migrate.upgrade(url)
        assert _rows(engine) == ROWS

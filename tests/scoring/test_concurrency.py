"""Concurrent score cases over real HTTP (row locks on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

import httpx
from sqlalchemy import text

from tests.conftest import concurrently


def rows(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


def test_twenty_concurrent_cases_cross_nine_then_twelve_exactly_once(live_server, scoring, engine):
    code = scoring.register()

    def case(n):
        body = scoring.case_body(f"c-{n}", [{"practitioner": code, "violation_type": "RECORDS-MISSING", "points": 1}],
                                 day="2025-05-01")
        return lambda: httpx.post(f"{live_server}/v1/score-cases", json=body, headers=scoring.headers, timeout=60)

    responses = concurrently([case(n) for n in range(20)])
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert sorted(r.json()["entries"][0]["year_total"] for r in responses) == list(range(1, 21))
    assert scoring.standing(code, "2025-05-01")["points"] == 20
    sanctions = rows(engine, "SELECT details FROM ledger WHERE kind = 'sanction'")
    kinds = sorted(__import__("json").loads(d)["kind"] for (d,) in sanctions)
    assert kinds == ["suspension", "termination"]

    recorded = rows(engine, "SELECT payload FROM events WHERE type = 'score.recorded'")
    entry_ids = [__import__("json").loads(p)["entry_id"] for (p,) in recorded]
    assert len(entry_ids) == len(set(entry_ids)) == 20
    # The day's total reaches 9 (a suspension), 10 and 11 (the same suspension, longer), 12 (a
    # termination: a day whose total is 12 suspends no one, so the suspension is lifted): each
    # change announced once, and nothing after 12.
    assert rows(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'sanction_change'")[0][0] == 2
    assert rows(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'sanction_lift'")[0][0] == 1
    assert rows(engine, "SELECT COUNT(*) FROM events WHERE type = 'standing.changed'")[0][0] == 4
    # the chain is intact: one seq per row, no gaps
    seqs = [s for (s,) in rows(engine, "SELECT seq FROM ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_concurrent_repeats_of_one_case_record_it_once(live_server, scoring, engine):
    code = scoring.register()
    body = scoring.case_body("same", [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "primary"}])

    def post():
        return httpx.post(f"{live_server}/v1/score-cases", json=body,
                          headers={**scoring.headers, "Idempotency-Key": "k-same"}, timeout=60)

    responses = concurrently([post] * 10)
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.text for r in responses}) == 1  # every caller got the same answer
    assert rows(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'entry'")[0][0] == 1
    assert scoring.standing(code, "2025-12-31")["points"] == 6


def test_concurrent_cases_of_the_same_new_people_each_count_once(live_server, scoring, engine):
    """Cases naming the same people, none scored before, wait on each other's locks: the one that
    waited must not take the timeline the first one wrote for one still to be created."""
    codes = [scoring.register(code=f"D150428{n:06d}") for n in range(1, 5)]

    def case(n):
        order = codes[n % 4:] + codes[:n % 4]  # every case names everyone, in its own order
        body = scoring.case_body(f"c-{n}", [{"practitioner": c, "violation_type": "RECORDS-MISSING", "points": 1}
                                            for c in order], day="2025-05-01")
        return lambda: httpx.post(f"{live_server}/v1/score-cases", json=body, headers=scoring.headers, timeout=60)

    responses = concurrently([case(n) for n in range(8)])
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses if r.status_code != 201]
    assert [scoring.standing(c, "2025-05-01")["points"] for c in codes] == [8] * 4
    assert rows(engine, "SELECT COUNT(*) FROM standings")[0][0] == 4

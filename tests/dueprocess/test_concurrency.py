"""Concurrent decisions on one proposal, over real HTTP: exactly one wins."""

import httpx
from sqlalchemy import text

from tests.conftest import concurrently


def test_concurrent_confirmations_and_withdrawals_decide_once(live_server, scoring, due, clock, engine):
    clock.set("2025-03-10")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-03-10", 9)["proposal_id"]

    def decide(path):
        return lambda: httpx.post(f"{live_server}/v1/score-proposals/{proposal_id}/{path}",
                                  json={"reason": "复核"}, headers=scoring.headers, timeout=60)

    responses = concurrently([decide("confirmation"), decide("withdrawal")] * 5)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    with engine.connect() as conn:
        entries = conn.execute(text("SELECT COUNT(*) FROM ledger WHERE kind = 'entry'")).scalar_one()
        sanctions = conn.execute(text("SELECT COUNT(*) FROM ledger WHERE kind = 'sanction'")).scalar_one()
        decided = conn.execute(
            text("SELECT COUNT(*) FROM events WHERE type IN ('score.confirmed', 'score.withdrawn')")).scalar_one()
    winner = next(r for r in responses if r.status_code == 201)
    confirmed = "effective_on" in winner.json()
    assert (entries, sanctions) == ((1, 1) if confirmed else (0, 0))
    assert decided == 1

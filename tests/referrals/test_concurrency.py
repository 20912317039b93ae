"""Two partners posting to one referral at once: the row lock lets exactly one step through
from a given state (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

import httpx
from sqlalchemy import text

from tests.conftest import concurrently


def test_concurrent_events_from_the_same_state_succeed_once(live_server, referrals, make_key, engine):
    county, city = referrals.health, make_key("partner", "150400", "health")  # both see a 150428 referral
    referral = referrals.create()
    referrals.step(referral["id"], "send", referrals.bureau)
    url = f"{live_server}/v1/referrals/{referral['id']}/events"

    def post(headers, body):
        return lambda: httpx.post(url, json=body, headers=headers, timeout=60)

    receipts = concurrently([post(county if n % 2 else city, {"type": "receive"}) for n in range(10)])
    assert sorted(r.status_code for r in receipts) == [201] + [409] * 9
    decisions = concurrently([post(county, {"type": "file"}), post(city, {"type": "decline", "reason": "不予立案"})] * 4)
    assert sorted(r.status_code for r in decisions) == [201] + [409] * 7
    winner = next(r.json() for r in decisions if r.status_code == 201)
    with engine.connect() as conn:
        history = conn.execute(text("SELECT action FROM referral_events WHERE referral_id = :id ORDER BY seq"),
                               {"id": referral["id"]}).scalars().all()
        changes = conn.execute(text("SELECT COUNT(*) FROM events WHERE type = 'referral.status_changed'")).scalar_one()
    assert history == ["create", "send", "receive", winner["history"][-1]["action"]]
    assert changes == 3

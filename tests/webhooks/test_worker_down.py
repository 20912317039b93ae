"""With no worker running and a backlog in the outbox, the API still answers standing checks,
correctly and at once; when a worker comes back, the backlog goes out and nothing is lost."""

from __future__ import annotations

import re

from app.kit.db import write_session
from app.shared import events
from tests.webhooks.conftest import run

BACKLOG = 200


def _backlog(api) -> float:
    metrics = api.get("/metrics").text
    return float(re.search(r'app_outbox_backlog\{stage="fan_out"\} ([0-9.e+]+)', metrics).group(1))


def test_standing_checks_are_answered_with_the_worker_down(api, scoring, make_key, subscribe, receiver):
    subscribe(scoring.headers, event_types=["score.recorded", "standing.changed"])
    code = scoring.register()
    scoring.score(code, "down-1", "2025-03-01", points=6, violation="SPLIT-CHARGING")
    scoring.score(code, "down-2", "2025-04-01", points=6, violation="SPLIT-CHARGING")  # 12: terminated
    with write_session() as session:  # more changes nobody has delivered
        for n in range(BACKLOG):
            events.emit(session, "score.recorded", subject=f"D210402{n:06d}", region="210402", data={"n": n})
        session.commit()
    assert _backlog(api) >= BACKLOG + 2

    checker = make_key("checker", "100000")
    standing = api.get(f"/v1/practitioners/{code}/standing", params={"at": "2025-05-01"}, headers=checker)
    assert standing.status_code == 200
    assert standing.json()["status"] == "terminated" and standing.json()["billing_allowed"] is False
    batch = api.post("/v1/standings/query", json={"codes": [code, "D210402999999"], "at": "2025-02-01"},
                     headers=checker)
    assert batch.status_code == 200
    assert [r["found"] for r in batch.json()["results"]] == [True, False]
    assert batch.json()["results"][0]["standing"]["status"] == "active"
    assert api.get("/readyz").json()["status"] == "ready"
    assert receiver.requests == []  # nothing was delivered meanwhile

    # The worker comes back: every change of the subscribed kinds goes out.
    while run():
        pass
    assert _backlog(api) == 0
    delivered = [r.message for r in receiver.requests]
    assert sum(m["type"] == "score.recorded" for m in delivered) == BACKLOG + 2
    assert any(m["type"] == "standing.changed" for m in delivered)

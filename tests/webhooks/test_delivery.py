"""Delivery against a real HTTP receiver on loopback, signatures checked with standardwebhooks."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.kit.db import read_session, write_session
from app.settings import get_settings
from app.shared.events import Event
from app.webhooks import delivery, urlsafety
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.webhooks.conftest import emit, run


def deliveries(api, headers, endpoint_id):
    response = api.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_success_is_signed_and_recorded(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    event_id = emit(points=5)
    assert run(clock.now) == 1
    (got,) = receiver.requests
    message = got.verify(endpoint["secret"])
    assert message["type"] == "score.recorded" and message["data"] == {"points": 5}
    assert message["timestamp"].endswith("Z")
    assert got.headers["content-type"] == "application/json" and got.id.startswith("msg_")
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["event_id"] == event_id and item["status"] == "succeeded" and item["webhook_id"] == got.id
    (attempt,) = item["attempts"]
    assert attempt["status_code"] == 200 and attempt["response_body"] == "ok" and attempt["error"] is None
    assert attempt["latency_ms"] >= 0
    assert run(clock.advance(hours=1)) == 0  # nothing sent twice


def test_a_score_case_through_the_api_reaches_the_subscriber(api, bureau, register, subscribe, receiver, clock):
    endpoint = subscribe(bureau, event_types=["score.recorded", "standing.changed"])
    register()
    for n, (violation, points) in enumerate([("SPLIT-CHARGING", 5), ("DUPLICATE-CHARGING", 4)]):
        case = api.post("/v1/score-cases", headers={**bureau, "Idempotency-Key": f"k{n}"}, json={
            "case_ref": f"赤医保罚〔2025〕{n}号", "basis": "administrative_penalty",
            "decision_number": f"赤医保罚〔2025〕{n}号", "decision_date": "2025-03-1%d" % n,
            "institution": "H15042800001",
            "entries": [{"practitioner": "D150428000123", "violation_type": violation, "points": points}]})
        assert case.status_code == 201, case.text
    run(clock.now)
    types = [r.verify(endpoint["secret"])["type"] for r in receiver.requests]
    assert types[0] == "score.recorded" and "standing.changed" in types
    assert {r.verify(endpoint["secret"])["data"]["practitioner"] for r in receiver.requests} == {"D150428000123"}


def test_timeout_then_retry_with_the_same_webhook_id(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 200, sleep=1.0)
    emit()
    run(clock.now, timeout=0.2)
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["status"] == "pending"
    assert "no answer within 0.2 s" in item["attempts"][0]["error"]
    due = item["next_attempt_at"]
    assert run(clock.advance(seconds=3), timeout=0.2) == 0  # 5 s ± 20 % later, not before
    assert run(clock.advance(seconds=4), timeout=0.2) == 1
    first, second = receiver.requests
    assert first.id == second.id and second.verify(endpoint["secret"])
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["status"] == "succeeded" and len(item["attempts"]) == 2 and due


def test_500_then_success_keeps_the_first_2kb_of_the_answer(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 500, body=b"x" * 5000)
    emit()
    run(clock.now)
    run(clock.advance(seconds=7))
    first, second = receiver.requests
    assert first.id == second.id
    (item,) = deliveries(api, bureau, endpoint["id"])
    failed, ok = item["attempts"]
    assert failed["status_code"] == 500 and len(failed["response_body"]) == 2048
    assert ok["status_code"] == 200 and item["status"] == "succeeded"


def test_429_retry_after_is_honoured(api, bureau, subscribe, receiver, clock):
    subscribe(bureau)
    receiver.answer("/hook", 429, headers={"Retry-After": "120"})
    emit()
    run(clock.now)
    assert run(clock.advance(seconds=60)) == 0  # the schedule says 5 s, the receiver 120 s
    assert run(clock.advance(seconds=61)) == 1
    assert len(receiver.requests) == 2


def test_redirects_are_not_followed(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 307, headers={"Location": receiver.url + "/elsewhere"})
    emit()
    run(clock.now)
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert deliveries(api, bureau, endpoint["id"])[0]["attempts"][0]["status_code"] == 307


def test_410_disables_the_endpoint_and_tells_the_owner(api, bureau, subscribe, receiver, clock):
    gone = subscribe(bureau, "/gone")
    ops = subscribe(bureau, "/ops", event_types=["webhook.endpoint_disabled"])
    receiver.answer("/gone", 410)
    emit()
    run(clock.now)
    state = api.get(f"/v1/webhook-endpoints/{gone['id']}", headers=bureau).json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]
    assert deliveries(api, bureau, gone["id"])[0]["status"] == "failed"
    run(clock.advance(seconds=1))
    (notice,) = receiver.at("/ops")
    message = notice.verify(ops["secret"])
    assert message["type"] == "webhook.endpoint_disabled" and message["data"]["endpoint_id"] == gone["id"]
    emit(subject="D150428000999")
    run(clock.advance(seconds=1))
    assert len(receiver.at("/gone")) == 1  # a disabled endpoint gets nothing new


def test_consecutive_failures_disable_the_endpoint(api, bureau, make_key, subscribe, receiver, clock, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_disable_after_failures", 3)
    endpoint = subscribe(bureau)
    ops = subscribe(bureau, "/ops", event_types=["webhook.endpoint_disabled"])
    stranger = subscribe(make_key("bureau", "100000"), "/stranger", event_types=["webhook.endpoint_disabled"])
    receiver.answer_always("/hook", 500)
    for n in range(3):
        emit(subject=f"D15042800000{n}")
    run(clock.now)
    state = api.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bureau).json()
    assert state["enabled"] is False and state["disabled_reason"] == "3 consecutive failed attempts"
    assert len(receiver.at("/hook")) == 3
    run(clock.advance(minutes=10))
    assert len(receiver.at("/hook")) == 3  # disabled: the pending retries wait
    (notice,) = receiver.at("/ops")
    assert notice.verify(ops["secret"])["data"]["reason"] == "3 consecutive failed attempts"
    assert receiver.at("/stranger") == [] and stranger  # operational events go to the owner only
    # re-enabled, the waiting deliveries go out (still with their ids)
    receiver.answer_always("/hook", 200)
    assert api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bureau, json={"enabled": True}).json()[
        "consecutive_failures"] == 0
    run(clock.advance(minutes=10))
    assert len({r.id for r in receiver.at("/hook")}) == 3 and len(receiver.at("/hook")) == 6


def test_gives_up_after_the_schedule_then_recover_and_redeliver(api, bureau, make_key, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    receiver.answer_always("/hook", 500)
    emit()
    run(clock.now)
    for hours in (0.01, 0.1, 0.6, 2.5, 6, 12, 12.5):
        run(clock.advance(hours=hours))
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["status"] == "failed" and len(item["attempts"]) == 8  # first try + 7 retries
    assert len(receiver.requests) == 8
    receiver.answer_always("/hook", 200)
    recovered = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/recover", headers=bureau,
                         json={"since": (clock.now - timedelta(days=3)).isoformat()})
    assert recovered.status_code == 202 and recovered.json() == {"requeued": 1}
    run(clock.advance(seconds=1))
    assert deliveries(api, bureau, endpoint["id"])[0]["status"] == "succeeded"
    # a succeeded delivery can be sent again on request, with the same webhook-id
    redeliver = api.post(f"/v1/deliveries/{item['id']}/redeliver", headers=bureau)
    assert redeliver.status_code == 202 and redeliver.json()["status"] == "pending"
    assert api.post(f"/v1/deliveries/{item['id']}/redeliver", headers=bureau).status_code == 409
    assert api.post(f"/v1/deliveries/{item['id']}/redeliver", headers=make_key("bureau", "150000")).status_code == 404
    run(clock.advance(seconds=1))
    assert len(receiver.requests) == 10 and {r.id for r in receiver.requests} == {item["webhook_id"]}
    assert all(r.verify(endpoint["secret"]) for r in receiver.requests[-2:])


def test_recover_only_requeues_failures_since_the_time(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 410)
    emit()
    run(clock.now)
    response = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/recover", headers=bureau,
                        json={"since": (clock.now + timedelta(minutes=1)).isoformat()})
    assert response.json() == {"requeued": 0}
    bad = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/recover", headers=bureau, json={"since": "2025-01-01T00:00:00"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.since"


def test_secret_rotation_signs_with_both_during_the_grace_period(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    rotated = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=bureau).json()
    emit()
    run(clock.now)
    (got,) = receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    got.verify(endpoint["secret"])
    got.verify(rotated["secret"])
    emit(subject="D150428000999")
    run(clock.advance(hours=get_settings().webhook_secret_grace_hours + 1))
    later = receiver.requests[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    later.verify(rotated["secret"])
    with pytest.raises(Exception):
        later.verify(endpoint["secret"])


def test_events_of_one_subject_arrive_in_order(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    receiver.answer("/hook", 500)
    first = emit(subject="D150428000001", n=1)
    second = emit(subject="D150428000001", n=2)
    other = emit(subject="D150428000002", n=3)
    run(clock.now)
    # the first failed; the second waits for it, another subject does not
    assert [r.message["data"]["n"] for r in receiver.requests] == [1, 3]
    run(clock.advance(seconds=2))
    assert len(receiver.requests) == 2
    run(clock.advance(seconds=7))
    assert [r.message["data"]["n"] for r in receiver.requests] == [1, 3, 1, 2]
    by_event = {d["event_id"]: d["status"] for d in deliveries(api, bureau, endpoint["id"])}
    assert by_event == {first: "succeeded", second: "succeeded", other: "succeeded"}


def test_loopback_is_refused_at_delivery_when_no_longer_allowed(api, bureau, subscribe, receiver, clock, monkeypatch):
    endpoint = subscribe(bureau)
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [])
    emit()
    run(clock.now)
    assert receiver.requests == []
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["status"] == "pending" and item["attempts"][0]["error"].startswith("refused:")


def test_a_stored_url_on_a_port_not_allowed_is_refused_at_delivery(api, bureau, subscribe, receiver, clock, engine):
    """A row stored when the allow-list named hosts only (any port) is held to host and port."""
    from sqlalchemy import text

    endpoint = subscribe(bureau)
    with engine.begin() as conn:
        conn.execute(text("UPDATE webhook_endpoints SET url = :url WHERE id = :id"),
                     {"url": "http://127.0.0.1:5432/hook", "id": endpoint["id"]})
    emit()
    run(clock.now)
    assert receiver.requests == []
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["status"] == "pending" and item["attempts"][0]["error"].startswith("refused:")


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.7", "169.254.169.254",
    "2002:a9fe:a9fe::1", "64:ff9b::a00:7", "64:ff9b:1::a00:7", "::ffff:127.0.0.1", "::10.0.0.7",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
])
def test_a_name_that_resolves_elsewhere_at_delivery_is_refused(api, bureau, receiver, clock, monkeypatch, address):
    """DNS rebinding: public when the endpoint was created, private when delivering."""
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [])
    answers = {"hooks.example.cn": ["93.184.216.34"]}
    monkeypatch.setattr(urlsafety, "resolve", lambda host, port: answers[host])
    created = api.post("/v1/webhook-endpoints", headers=bureau,
                       json={"url": "https://hooks.example.cn/hook", "event_types": ["score.recorded"]})
    assert created.status_code == 201
    answers["hooks.example.cn"] = [address]
    emit()
    run(clock.now)
    (item,) = deliveries(api, bureau, created.json()["id"])
    assert "private, loopback" in item["attempts"][0]["error"]


def test_delivery_connects_to_the_address_resolved_once(api, bureau, receiver, clock, monkeypatch):
    """The URL names a host that only our resolver knows: the request still reaches the
    receiver, so the HTTP client did not resolve the name again."""
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [f"hooks.test:{port}"])
    monkeypatch.setattr(urlsafety, "resolve", lambda host, p: ["127.0.0.1"] if host == "hooks.test" else [])
    created = api.post("/v1/webhook-endpoints", headers=bureau,
                       json={"url": f"http://hooks.test:{port}/hook", "event_types": ["score.recorded"]})
    assert created.status_code == 201, created.text
    emit()
    run(clock.now)
    (got,) = receiver.requests
    assert got.headers["host"] == f"hooks.test:{port}"
    got.verify(created.json()["secret"])


def test_scope_a_partner_gets_only_its_department_and_region(api, make_key, subscribe, receiver, clock):
    health = subscribe(make_key("partner", "150400", "health"), "/health",
                       event_types=["referral.created", "referral.status_changed"])
    county = subscribe(make_key("bureau", "150428"), "/county", event_types=["score.recorded", "referral.created"])
    revoked_key = make_key("bureau", "150000")
    subscribe(revoked_key, "/revoked")
    from app.auth import service as clients

    with write_session() as session:
        clients.revoke_client(session, clients.list_clients(session)[-1].id)
    mine = emit("referral.created", "R-1", "150428", "health", n=1)
    emit("referral.created", "R-2", "150428", "market_regulation", n=2)  # another department
    emit("referral.created", "R-3", "150500", "health", n=3)              # another region
    emit("score.recorded", "D150428000123", "150428", n=4)                # no department
    emit("referral.status_changed", "R-1", "150428", "health", n=5)
    emit("score.recorded", "D150429000123", "150429", n=6)                # outside the county
    run(clock.now)
    assert [r.verify(health["secret"])["data"]["n"] for r in receiver.at("/health")] == [1, 5]
    assert sorted(r.verify(county["secret"])["data"]["n"] for r in receiver.at("/county")) == [1, 2, 4]
    assert receiver.at("/revoked") == []
    assert mine


def test_an_endpoint_hears_only_of_events_after_its_creation(api, bureau, subscribe, receiver, clock):
    emit(n=1)
    subscribe(bureau)
    emit(n=2)
    run(clock.now)
    assert [r.message["data"]["n"] for r in receiver.requests] == [2]


def test_a_worker_that_dies_after_claiming_loses_nothing(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    emit()
    delivery.fan_out(clock.now)
    (dead,) = delivery.claim(clock.now, worker="dies-here")  # fetched, never acknowledged
    assert run(clock.advance(seconds=10)) == 0  # leased: nobody else takes it
    assert receiver.requests == []
    run(clock.advance(seconds=get_settings().webhook_lease_seconds))
    (got,) = receiver.requests
    assert got.id == dead.msg_id
    got.verify(endpoint["secret"])
    # if the worker comes back and acknowledges late, its attempt is kept but decides nothing
    late = delivery.Result(500, {}, None, None, 1, True)
    assert delivery.acknowledge(dead, late, clock.now, worker="dies-here") == "lease lost"
    (item,) = deliveries(api, bureau, endpoint["id"])
    assert item["status"] == "succeeded" and len(item["attempts"]) == 2


def test_fan_out_prunes_its_marks_once_events_have_settled(subscribe, bureau, receiver, clock):
    from app.webhooks.models import WebhookFannedOut, WebhookFanout

    subscribe(bureau)
    ids = [emit(subject=f"D15042800000{n}") for n in range(3)]
    delivery.fan_out(clock.now)
    with read_session() as session:
        assert len(session.exec(select(WebhookFannedOut)).all()) == 3
    delivery.fan_out(clock.advance(minutes=11))
    with read_session() as session:
        assert session.exec(select(WebhookFannedOut)).all() == []
        assert session.get(WebhookFanout, 1).floor_event_id == ids[-1]
        assert len(session.exec(select(WebhookDelivery)).all()) == 3


def test_deleting_an_endpoint_removes_its_deliveries(api, bureau, subscribe, receiver, clock):
    endpoint = subscribe(bureau)
    emit()
    run(clock.now)
    assert api.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bureau).status_code == 204
    with read_session() as session:
        assert session.exec(select(WebhookDelivery)).all() == []
        assert session.exec(select(WebhookAttempt)).all() == []
        assert len(session.exec(select(Event)).all()) == 1

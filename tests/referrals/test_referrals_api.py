"""Creating, reading, listing and scoping referrals; validation that names the field."""

import pytest
from sqlalchemy import text

from tests.referrals.conftest import SHA, referral_body


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_create_send_and_read_with_history(referrals, api, engine):
    created = referrals.create(score_case_id=None)
    assert created["status"] == "draft" and created["direction"] == "outbound"
    assert (created["sender"], created["recipient"], created["department_name"]) == ("bureau", "health", "卫生健康委员会")
    assert created["institutions"] == ["H15042800001"] and created["practitioners"] == ["D150428000123"]
    assert created["evidence"] == [{"uri": "https://files.example.cn/evidence/1.pdf", "sha256": SHA}]
    assert created["allowed_actions"] == ["send", "withdraw"] and created["your_side"] == "sender"
    sent = referrals.step(created["id"], "send", referrals.bureau, on="2025-05-13")
    assert sent["year"] == 2025 and sent["sent_on"] == "2025-05-13"
    seen = referrals.get(created["id"], referrals.health).json()
    assert seen["your_side"] == "recipient" and seen["allowed_actions"] == ["receive", "return"]
    assert [h["action"] for h in seen["history"]] == ["create", "send"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT type, subject, region, department FROM events ORDER BY id")).all()
    ref = f"referral:{created['id']}"
    # the health commission hears of the referral once it is sent, not while it is a draft
    assert rows == [("referral.created", ref, "150428", None), ("referral.status_changed", ref, "150428", "health")]


def test_a_repeat_with_the_same_idempotency_key_creates_nothing(referrals, api, engine):
    headers = {**referrals.bureau, "Idempotency-Key": "r-1"}
    first = api.post("/v1/referrals", json=referral_body(), headers=headers)
    again = api.post("/v1/referrals", json=referral_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    other = api.post("/v1/referrals", json=referral_body(summary="另一条"), headers=headers)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert count(engine, "referrals") == 1


def test_a_partner_sends_to_the_bureau(referrals):
    created = referrals.create(headers=referrals.market, recipient="bureau", clue_category="drug_traceability",
                               institutions=["P15042800007"], practitioners=[])
    assert (created["direction"], created["sender"], created["department"]) == ("inbound", "market_regulation",
                                                                                  "market_regulation")
    assert referrals.get(created["id"], referrals.bureau).status_code == 404  # a draft is the sender's alone
    referrals.step(created["id"], "send", referrals.market)
    assert referrals.get(created["id"], referrals.bureau).json()["allowed_actions"] == ["receive", "return"]
    assert referrals.get(created["id"], referrals.health).status_code == 404  # another department


@pytest.mark.parametrize(("scope", "department", "visible"), [
    ("bureau", "150428", True), ("bureau", "150400", True), ("bureau", "150000", True), ("bureau", "100000", True),
    ("bureau", "150429", False), ("bureau", "210000", False),
    ("health", "150428", True), ("health", "150400", True), ("health", "150429", False),
    ("market_regulation", "150428", False), ("market_regulation", "150000", False),
])
def test_who_sees_a_sent_referral(referrals, api, make_key, scope, department, visible):
    referral = referrals.create()
    referrals.step(referral["id"], "send", referrals.bureau)
    headers = make_key("bureau", department) if scope == "bureau" else make_key("partner", department, scope)
    assert referrals.get(referral["id"], headers).status_code == (200 if visible else 404)
    listed = api.get("/v1/referrals", headers=headers).json()["items"]
    assert [r["id"] for r in listed] == ([referral["id"]] if visible else [])
    posted = referrals.post(referral["id"], "receive", headers)
    assert posted.status_code == ((201 if scope == "health" else 409) if visible else 404)


def test_roles_without_referrals_are_refused(api, make_key, referrals):
    referral = referrals.create()
    for headers in (make_key("checker", "150428"), make_key("admin", "150428")):
        assert api.get(f"/v1/referrals/{referral['id']}", headers=headers).status_code == 403
        assert api.get("/v1/referrals", headers=headers).status_code == 403
        assert api.post("/v1/referrals", json=referral_body(), headers=headers).status_code == 403
        assert api.get("/v1/referrals/stats", params={"year": 2025}, headers=headers).status_code == 403
    assert api.get("/v1/referrals/stats", params={"year": 2025}, headers=referrals.health).status_code == 403


@pytest.mark.parametrize(("who", "fields", "field"), [
    ("bureau", {"recipient": "tax"}, "body.recipient"),
    ("bureau", {"recipient": "public_security", "clue_category": "fraud"}, "body.recipient"),  # not switched on
    ("bureau", {"recipient": "bureau"}, "body.recipient"),
    ("health", {"recipient": "market_regulation"}, "body.recipient"),
    ("bureau", {"region": "150429"}, "body.region"),
    ("bureau", {"region": "999999"}, "body.region"),
    ("bureau", {"clue_category": "pricing"}, "body.clue_category"),  # health does not take pricing
    ("bureau", {"clue_category": "Pricing!"}, "body.clue_category"),
    ("bureau", {"institutions": [], "practitioners": []}, "body.institutions"),
    ("bureau", {"institutions": ["H15042900001"]}, "body.institutions.0"),
    ("bureau", {"institutions": ["X1"]}, "body.institutions.0"),
    ("bureau", {"practitioners": ["d150428000123"]}, "body.practitioners.0"),
    ("bureau", {"evidence": [{"uri": "no scheme", "sha256": SHA}]}, "body.evidence.0.uri"),
    ("bureau", {"evidence": [{"uri": "https://x.cn/a", "sha256": "abc"}]}, "body.evidence.0.sha256"),
    ("bureau", {"score_case_id": 999}, "body.score_case_id"),
    ("bureau", {"summary": " "}, "body.summary"),
    ("bureau", {"on": "2999-01-01"}, "body.on"),
    ("bureau", {"kind": "memo"}, "body.kind"),
    ("bureau", {"surprise": 1}, "body.surprise"),
])
def test_bad_referrals_name_the_field_and_store_nothing(referrals, api, engine, who, fields, field):
    headers = referrals.bureau if who == "bureau" else referrals.health
    response = api.post("/v1/referrals", json=referral_body(**fields), headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    for value in fields.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in response.text  # input is never echoed
    assert count(engine, "referrals") == 0 and count(engine, "events") == 0


@pytest.mark.parametrize(("action", "body", "field"), [
    ("decline", {"reason": None}, "body.reason"),
    ("return", {"reason": None}, "body.reason"),
    ("extend", {"reason": None}, "body.reason"),
    ("file", {"on": "2999-01-01"}, "body.on"),
    ("file", {"on": "2025-05-01"}, "body.on"),  # before the receipt
    ("file", {"outcome": {"penalty_kinds": ["warning"], "decision_number": "x", "decision_date": "2025-06-01"}},
     "body.outcome"),
    ("file", {"type": "approve"}, "body.type"),
])
def test_bad_events_name_the_field_and_change_nothing(referrals, action, body, field):
    referral = referrals.create()
    referrals.step(referral["id"], "send", referrals.bureau, on="2025-05-13")
    referrals.step(referral["id"], "receive", referrals.health, on="2025-05-14")
    response = referrals.post(referral["id"], action, referrals.health, **body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    after = referrals.get(referral["id"]).json()
    assert after["status"] == "received" and len(after["history"]) == 3


@pytest.mark.parametrize(("outcome", "field"), [
    (None, "body.outcome"),
    ({"penalty_kinds": ["fine"], "decision_number": "x", "decision_date": "2025-07-01"}, "body.outcome.fine_amount"),
    ({"penalty_kinds": ["warning"], "fine_amount": "10", "decision_number": "x", "decision_date": "2025-07-01"},
     "body.outcome.fine_amount"),
    ({"penalty_kinds": ["confiscation"], "decision_number": "x", "decision_date": "2025-07-01"},
     "body.outcome.confiscated_amount"),
    ({"penalty_kinds": ["warning"], "decision_date": "2025-07-01"}, "body.outcome.decision_number"),
    ({"penalty_kinds": ["no_violation_found", "warning"], "decision_number": "x", "decision_date": "2025-07-01"},
     "body.outcome.penalty_kinds"),
    ({"penalty_kinds": [], "decision_date": "2025-07-01"}, "body.outcome.penalty_kinds"),
    ({"penalty_kinds": ["beheading"], "decision_date": "2025-07-01"}, "body.outcome.penalty_kinds.0"),
    ({"penalty_kinds": ["warning"], "decision_number": "x", "decision_date": "2999-07-01"},
     "body.outcome.decision_date"),
    ({"penalty_kinds": ["warning"], "decision_number": "x", "decision_date": "2025-05-01"},
     "body.outcome.decision_date"),  # before filing
    ({"penalty_kinds": ["fine"], "fine_amount": "-1", "decision_number": "x", "decision_date": "2025-07-01"},
     "body.outcome.fine_amount"),
    ({"penalty_kinds": ["warning"], "decision_number": "x", "decision_date": "2025-07-01",
      "practitioners": ["nobody"]}, "body.outcome.practitioners.0"),
])
def test_a_conclusion_needs_a_complete_outcome(referrals, outcome, field):
    referral = referrals.create()
    for action, headers, on in (("send", referrals.bureau, "2025-05-13"), ("receive", referrals.health, "2025-05-14"),
                                ("file", referrals.health, "2025-05-20")):
        referrals.step(referral["id"], action, headers, on=on)
    response = referrals.post(referral["id"], "conclude", referrals.health, outcome=outcome, on="2025-07-02")
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert referrals.get(referral["id"]).json()["status"] == "filed"


def test_list_filters(referrals, api):
    to_health = referrals.create()
    to_market = referrals.create(recipient="market_regulation", clue_category="pricing")
    for r in (to_health, to_market):
        referrals.step(r["id"], "send", referrals.bureau, on="2025-05-13")
    referrals.step(to_health["id"], "receive", referrals.health, on="2025-05-14")
    inbound = referrals.create(headers=referrals.market, recipient="bureau", clue_category="pricing")
    referrals.step(inbound["id"], "send", referrals.market, on="2025-06-02")

    def ids(**params):
        response = api.get("/v1/referrals", params=params, headers=referrals.bureau)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids() == [to_health["id"], to_market["id"], inbound["id"]]
    assert ids(direction="inbound") == [inbound["id"]]
    assert ids(department="market_regulation") == [to_market["id"], inbound["id"]]
    assert ids(status="received") == [to_health["id"]]
    assert ids(year=2025, direction="outbound") == [to_health["id"], to_market["id"]]
    assert ids(year=2024) == []
    # receipt due 2025-05-20 (5 working days after 13 May); the received one has its filing deadline
    assert ids(overdue=True, as_of="2025-05-20") == []
    assert ids(overdue=True, as_of="2025-05-21") == [to_market["id"]]
    assert ids(overdue=False, as_of="2025-05-21") == [to_health["id"], inbound["id"]]
    page = api.get("/v1/referrals", params={"limit": 2}, headers=referrals.bureau).json()
    assert [r["id"] for r in page["items"]] == [to_health["id"], to_market["id"]]
    rest = api.get("/v1/referrals", params={"limit": 2, "cursor": page["next_cursor"]}, headers=referrals.bureau).json()
    assert [r["id"] for r in rest["items"]] == [inbound["id"]] and rest["next_cursor"] is None
    assert [r["id"] for r in api.get("/v1/referrals", headers=referrals.market).json()["items"]] == [
        to_market["id"], inbound["id"]]
    outside = api.get("/v1/referrals", params={"region": "150429"}, headers=referrals.bureau)
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "query.region"

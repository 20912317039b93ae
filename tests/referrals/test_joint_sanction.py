"""联合惩戒: a suspension or termination notifies the departments in the scoring transaction;
a partner outcome naming a practitioner shows on the dossier."""

import json

from sqlalchemy import text


def rows(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


def test_a_suspension_notifies_health(scoring, api, make_key, engine):
    code = scoring.register()  # a physician in 210402 (Fushun)
    scoring.score(code, "a", "2025-03-01", points=5)
    assert rows(engine, "SELECT COUNT(*) FROM referrals")[0][0] == 0  # 5 points: nothing to notify
    entry = scoring.score(code, "b", "2025-03-02", points=4)
    assert [s["kind"] for s in entry["sanctions_created"]] == ["suspension"]
    health = make_key("partner", "210402", "health")
    listed = api.get("/v1/referrals", headers=health).json()["items"]
    assert len(listed) == 1
    notice = listed[0]
    assert (notice["kind"], notice["status"], notice["direction"], notice["clue_category"]) == (
        "notification", "sent", "outbound", "joint_sanction")
    assert notice["practitioners"] == [code] and notice["sanction_id"] == entry["sanctions_created"][0]["id"]
    assert notice["score_case_id"] is not None and "暂停" in notice["summary"]
    assert notice["allowed_actions"] == ["receive", "return"]
    market = make_key("partner", "210402", "market_regulation")
    assert api.get("/v1/referrals", headers=market).json()["items"] == []  # a physician: health only
    # receipt alone closes it
    closed = api.post(f"/v1/referrals/{notice['id']}/events", json={"type": "receive"}, headers=health).json()
    assert closed["status"] == "closed" and closed["received_on"] is not None
    created = rows(engine, "SELECT department, payload FROM events WHERE type = 'referral.created'")
    assert [(d, json.loads(p)["status"]) for d, p in created] == [("health", "sent")]


def test_a_pharmacists_termination_notifies_health_and_market_regulation(scoring, api, make_key):
    code = scoring.register(category="pharmacist")
    entry = scoring.score(code, "a", "2025-03-01", points=12, violation="FRAUD-FABRICATE")
    assert [s["kind"] for s in entry["sanctions_created"]] == ["termination"]
    for department in ("health", "market_regulation"):
        items = api.get("/v1/referrals", headers=make_key("partner", "210000", department)).json()["items"]
        assert [(r["kind"], r["department"]) for r in items] == [("notification", department)]
        assert "终止" in items[0]["summary"]
    bureau = api.get("/v1/referrals", params={"kind": "notification"}, headers=scoring.headers).json()["items"]
    assert len(bureau) == 2


def test_a_repeated_case_does_not_notify_twice(scoring, api):
    code = scoring.register()
    body = scoring.case_body("same", [{"practitioner": code, "violation_type": "UPCODING", "points": 9}])
    statuses = [api.post("/v1/score-cases", json=body, headers={**scoring.headers, "Idempotency-Key": "k"}).status_code
                for _ in range(2)]
    assert statuses == [201, 200]
    assert len(api.get("/v1/referrals", headers=scoring.headers).json()["items"]) == 1


def test_an_outcome_naming_a_practitioner_is_on_the_dossier(scoring, api, make_key, engine):
    code = scoring.register()
    health = make_key("partner", "210402", "health")
    referral = api.post("/v1/referrals", json={
        "recipient": "health", "region": "210402", "clue_category": "licence_renting", "summary": "医师挂证",
        "institutions": ["H21040200001"], "on": "2025-04-01"}, headers=scoring.headers).json()
    steps = [("send", scoring.headers, {}), ("receive", health, {}), ("file", health, {}),
             ("conclude", health, {"outcome": {
                 "penalty_kinds": ["licence_revocation", "fine"], "fine_amount": "20000.00",
                 "decision_number": "抚卫罚〔2025〕7号", "decision_date": "2025-06-20", "practitioners": [code]}})]
    for action, headers, extra in steps:
        response = api.post(f"/v1/referrals/{referral['id']}/events",
                            json={"type": action, "on": "2025-06-20", **extra}, headers=headers)
        assert response.status_code == 201, response.text
    dossier = api.get(f"/v1/practitioners/{code}/dossier", headers=scoring.headers).json()
    assert len(dossier["referrals"]) == 1
    item = dossier["referrals"][0]
    assert item["id"] == referral["id"] and item["named_in_outcome"] is True and item["status"] == "concluded"
    assert item["outcome"]["penalty_kinds"] == ["licence_revocation", "fine"]
    changed = rows(engine, "SELECT payload FROM events WHERE type = 'referral.status_changed' ORDER BY id")
    assert json.loads(changed[-1][0])["outcome"]["practitioners"] == [code]
    # a bureau outside the referral's region sees the person's dossier only if it covers them: it does not here
    assert api.get(f"/v1/practitioners/{code}/dossier", headers=make_key("bureau", "150000")).status_code == 404

"""Sanctions right in every order of events: the findings of a held-out year of cases, each
reproduced through the API. The rules are in docs/rules.md."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import text


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def post(scoring, ref, entries, day):
    response = scoring.post(ref, entries, day=day)
    assert response.status_code == 201, response.text
    return response.json()


# ---------------------------------------------------------------- 1. one act, two rules

def two_rules(code, acts=(None, None)):
    entries = [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "primary"},
               {"practitioner": code, "violation_type": "DUPLICATE-CHARGING", "tier": "primary"}]
    for entry, act in zip(entries, acts):
        if act is not None:
            entry["act"] = act
    return entries


def test_two_entries_for_one_person_without_acts_are_refused_and_nothing_is_recorded(scoring, engine):
    code = scoring.register()
    response = scoring.post("split-dup", two_rules(code), day="2025-03-01")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"body.entries.0.act", "body.entries.1.act"}
    assert rows(engine, "SELECT COUNT(*) FROM ledger")[0][0] == 0
    assert scoring.standing(code, "2025-12-31")["points"] == 0


def test_one_act_breaking_two_rules_counts_once_at_the_highest(scoring, api):
    code = scoring.register()
    case = post(scoring, "split-dup", [{**two_rules(code, ("A1", "A1"))[0], "tier": "important"},
                                       two_rules(code, ("A1", "A1"))[1]], day="2025-03-01")
    absorbed, counted = sorted(case["entries"], key=lambda e: e["status"])
    assert (counted["status"], counted["points"], counted["violation_type"]) == ("counted", 6, "DUPLICATE-CHARGING")
    assert (absorbed["status"], absorbed["points"], absorbed["act"]) == ("absorbed", 5, "A1")
    assert case["outcomes"][0]["year_totals"] == {"2025": 6}
    assert [s["kind"] for s in case["outcomes"][0]["sanctions_created"]] == []
    standing = scoring.standing(code, "2025-12-31")
    assert (standing["points"], standing["status"]) == (6, "active")
    # The dossier keeps both rules, and says which counts.
    ledger = api.get(f"/v1/practitioners/{code}/dossier", headers=scoring.headers).json()["ledger"]
    assert sorted((r["violation_type"], r["counts"]) for r in ledger if r["kind"] == "entry") == [
        ("DUPLICATE-CHARGING", True), ("SPLIT-CHARGING", False)]


def test_reversing_the_highest_rule_of_an_act_leaves_the_next(scoring, api):
    code = scoring.register()
    case = post(scoring, "split-dup", [{**two_rules(code, ("A1", "A1"))[0], "tier": "important"},
                                       two_rules(code, ("A1", "A1"))[1]], day="2025-03-01")
    counted = next(e for e in case["entries"] if e["status"] == "counted")
    reversal = api.post(f"/v1/score-entries/{counted['id']}/reversal", json={"reason": "复议撤销"},
                        headers=scoring.headers)
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["year_total"] == 5
    assert scoring.standing(code, "2025-12-31")["points"] == 5


def test_two_acts_in_one_case_add_up(scoring):
    code = scoring.register()
    case = post(scoring, "two-acts", two_rules(code, ("A1", "A2")), day="2025-03-01")
    assert [e["status"] for e in case["entries"]] == ["counted", "counted"]
    [termination] = case["outcomes"][0]["sanctions_created"]
    # One case gave the 12 points: the longer bar.
    assert (termination["kind"], termination["bar_until"]) == ("termination", "2028-03-01")


def test_the_same_rule_twice_for_one_act_is_refused(scoring):
    code = scoring.register()
    entries = two_rules(code, ("A1", "A1"))
    entries[1]["violation_type"] = "SPLIT-CHARGING"
    response = scoring.post("twice", entries, day="2025-03-01")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.entries.1.violation_type"]


# ---------------------------------------------------------------- 2. a back-dated case

def test_a_back_dated_case_announces_the_sanctions_it_causes_later(scoring, api, make_key, engine):
    code = scoring.register()
    first = scoring.score(code, "june", "2025-06-01", points=10, violation="FRAUD-FABRICATE")
    [suspension] = first["sanctions_created"]
    assert (suspension["kind"], suspension["starts_on"]) == ("suspension", "2025-06-01")
    # Decided on 1 May, recorded later: on 1 June the year total is 12, which terminates.
    case = post(scoring, "may", [{"practitioner": code, "violation_type": "RECORDS-MISSING", "points": 2}],
                day="2025-05-01")
    entry, outcome = case["entries"][0], case["outcomes"][0]
    assert entry["year_total"] == 12
    assert [(s["kind"], s["starts_on"], s["trigger_entry_id"]) for s in entry["sanctions_created"]] == [
        ("termination", "2025-06-01", first["id"])]
    assert outcome["sanctions_created"] == entry["sanctions_created"]
    assert [(s["kind"], s["id"]) for s in outcome["sanctions_lifted"]] == [("suspension", suspension["id"])]
    assert outcome["year_totals"] == {"2025": 12}
    assert outcome["standing_after"]["status"] == "terminated"
    # The event says the same; the partners hear of the termination and of the suspension's lift.
    [event] = [json.loads(p) for (p,) in rows(engine, "SELECT payload FROM events WHERE type = 'standing.changed' "
                                                     "ORDER BY id DESC LIMIT 1")]
    assert [s["id"] for s in event["sanctions_created"]] == [s["id"] for s in outcome["sanctions_created"]]
    assert [s["id"] for s in event["sanctions_lifted"]] == [suspension["id"]]
    health = make_key("partner", "210402", "health")
    notices = api.get("/v1/referrals", headers=health).json()["items"]
    assert sorted(n["clue_category"] for n in notices) == ["joint_sanction", "joint_sanction", "joint_sanction_lift"]
    assert scoring.standing(code, "2025-06-01")["status"] == "terminated"


def test_every_sanction_is_announced_once_whatever_the_order(scoring, engine):
    code = scoring.register()
    for ref, day, points in [("c", "2025-09-01", 3), ("a", "2025-03-01", 6), ("b", "2025-06-01", 3),
                             ("d", "2025-01-10", 2)]:
        post(scoring, ref, [{"practitioner": code, "violation_type": "RECORDS-MISSING" if points < 4 else "SPLIT-CHARGING",
                             "points": points}], day=day)
    answers = [json.loads(r) for (r,) in rows(engine, "SELECT response FROM score_cases")]
    created = [s["id"] for a in answers for o in a["outcomes"] for s in o["sanctions_created"]]
    events = [json.loads(p) for (p,) in rows(engine, "SELECT payload FROM events WHERE type = 'standing.changed'")]
    announced = [s["id"] for e in events for s in e["sanctions_created"]]
    recorded = [i for (i,) in rows(engine, "SELECT id FROM ledger WHERE kind = 'sanction'")]
    assert sorted(created) == sorted(announced) == sorted(recorded)
    assert len(set(created)) == len(created)


# ---------------------------------------------------------------- 3. a repair never makes it stricter

def test_a_repair_then_a_point_is_never_stricter_than_the_point_alone(scoring, api):
    repaired, plain = scoring.register(code="D210402000001"), scoring.register(code="D210402000002")
    for code in (repaired, plain):
        scoring.score(code, f"nine-{code}", "2025-02-03", points=9, violation="UPCODING")
    response = api.post(f"/v1/practitioners/{repaired}/repairs", headers=scoring.headers,
                        json={"activity": "policy_training", "occurred_on": "2025-03-03", "reference": "CERT-1"})
    assert response.status_code == 201, response.text
    for code in (repaired, plain):
        scoring.score(code, f"one-{code}", "2025-03-10", points=1, violation="RECORDS-MISSING")
    rank = {"active": 0, "suspended": 1, "terminated": 2}
    day = date(2025, 2, 1)
    while day <= date(2025, 12, 31):
        a, b = scoring.standing(repaired, day.isoformat()), scoring.standing(plain, day.isoformat())
        assert rank[a["status"]] <= rank[b["status"]], day
        day += timedelta(days=7)
    # 9 again after the repair: the new score calls for 2 months from its day (10 would call for 4).
    assert scoring.standing(repaired, "2025-05-09")["suspended_until"] == "2025-05-09"
    assert scoring.standing(plain, "2025-05-09")["suspended_until"] == "2025-07-09"


# ---------------------------------------------------------------- 6. lifts are notified

def test_a_reversal_sends_the_partners_a_lift_notice_and_the_dossier_shows_both(scoring, api, make_key, engine):
    code = scoring.register()
    entry = scoring.score(code, "nine", "2025-03-02", points=9, violation="UPCODING")
    [suspension] = entry["sanctions_created"]
    reversal = api.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "行政复议撤销"},
                        headers=scoring.headers).json()
    assert [s["id"] for s in reversal["sanctions_lifted"]] == [suspension["id"]]
    health = make_key("partner", "210402", "health")
    notices = {n["clue_category"]: n for n in api.get("/v1/referrals", headers=health).json()["items"]}
    assert set(notices) == {"joint_sanction", "joint_sanction_lift"}
    lift = notices["joint_sanction_lift"]
    assert lift["status"] == "sent" and "撤销" in lift["summary"] and "行政复议撤销" in lift["summary"]
    created = [json.loads(p) for (p,) in rows(engine, "SELECT payload FROM events WHERE type = 'referral.created' "
                                                     "AND department = 'health'")]
    assert sorted(e["clue_category"] for e in created) == ["joint_sanction", "joint_sanction_lift"]
    dossier = api.get(f"/v1/practitioners/{code}/dossier", headers=scoring.headers).json()
    assert sorted(r["clue_category"] for r in dossier["referrals"]) == ["joint_sanction", "joint_sanction_lift"]
    assert [(s["id"], s["lifted"]) for s in dossier["sanctions"]] == [(suspension["id"], True)]


def test_a_shortened_sanction_sends_a_change_notice(scoring, api, make_key):
    code = scoring.register()
    one = scoring.score(code, "one", "2025-03-01", points=1, violation="RECORDS-MISSING")
    ten = scoring.score(code, "ten", "2025-03-10", points=10, violation="FRAUD-FABRICATE", tier=None)
    [suspension] = ten["sanctions_created"]
    assert suspension["until"] == "2025-09-09"  # 11 points: 6 months
    reversal = api.post(f"/v1/score-entries/{one['id']}/reversal", json={"reason": "差错更正"},
                        headers=scoring.headers).json()
    [changed] = reversal["sanctions_changed"]
    assert (changed["id"], changed["until"], changed["previous"]["until"]) == (suspension["id"], "2025-07-09", "2025-09-09")
    health = make_key("partner", "210402", "health")
    categories = sorted(n["clue_category"] for n in api.get("/v1/referrals", headers=health).json()["items"])
    assert categories == ["joint_sanction", "joint_sanction_change"]


# ---------------------------------------------------------------- recompute after an upgrade

def test_recompute_restores_stale_standings_and_announces_nothing_twice(scoring, engine):
    from app.scoring import service

    code = scoring.register()
    scoring.score(code, "nine", "2025-03-02", points=9, violation="UPCODING")
    assert service.recompute_all() == (1, 0)  # consistent: nothing to announce
    with engine.begin() as conn:  # a standings row derived under older rules
        conn.execute(text("UPDATE standings SET timeline = :t"),
                     {"t": json.dumps({"registered_on": "2020-01-01", "totals": {}, "repaired": {},
                                       "repair_effect": {}, "sanctions": [], "reregistrations": []})})
    assert scoring.standing(code, "2025-03-02")["status"] == "active"
    assert service.recompute_all() == (1, 1)
    assert scoring.standing(code, "2025-03-02")["status"] == "suspended"
    assert rows(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'sanction'")[0][0] == 1

"""Score cases over HTTP: points, thresholds, validation, idempotency, reversal, repairs, re-registration."""

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import text

from tests.shared_fixtures import violation_with

# Points per (violation, tier) and the months of a suspension at 9, per ruleset, written out.
EXPECTED = {
    "national-2024": {"light": (1, 2, 3), "heavier": (4, 5, 6), "serious": (7, 8, 9), "most_serious": (10, 11, 12),
                      "months_at_9": 2},
    "tianjin-2024": {"light": (1, 2, 3), "heavier": (4, 6, 6), "serious": (7, 8, 9), "most_serious": (10, 11, 12),
                     "months_at_9": 3},
    "inner-mongolia-2025": {"light": (1, 1, 2), "heavier": (3, 4, 5), "serious": (6, 7, 8), "most_serious": (9, 10, 12),
                            "months_at_9": 1},
}
VIOLATION_IN_BAND = {"light": "RECORDS-MISSING", "heavier": "SPLIT-CHARGING", "serious": "UPCODING",
                     "most_serious": "FRAUD-IMPERSONATION"}


def table(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


@pytest.mark.parametrize("ruleset", list(EXPECTED))
@pytest.mark.parametrize("band", list(VIOLATION_IN_BAND))
@pytest.mark.parametrize("tier_index", [0, 1, 2])
def test_points_by_band_and_tier(scoring, ruleset, band, tier_index):
    code = scoring.register(ruleset)
    tier = ("general", "important", "primary")[tier_index]
    entry = scoring.score(code, "c", "2025-03-01", violation=VIOLATION_IN_BAND[band], tier=tier, ruleset=ruleset)
    assert entry["points"] == EXPECTED[ruleset][band][tier_index]
    assert entry["year_total"] == EXPECTED[ruleset][band][tier_index]


@pytest.mark.parametrize("ruleset", list(EXPECTED))
def test_mitigation_and_aggravation_shift_one_band(scoring, ruleset):
    code = scoring.register(ruleset)
    down = scoring.score(code, "m", "2025-03-01", violation="UPCODING", tier="general", circumstances="mitigating",
                         ruleset=ruleset)
    up = scoring.score(code, "a", "2025-03-01", violation="RECORDS-MISSING", tier="general",
                       circumstances="aggravating", ruleset=ruleset)
    assert down["points"] == EXPECTED[ruleset]["heavier"][0]
    assert up["points"] == EXPECTED[ruleset]["heavier"][0]


@pytest.mark.parametrize("ruleset", list(EXPECTED))
def test_nine_points_suspend_for_the_rulesets_months(scoring, ruleset):
    code = scoring.register(ruleset)
    # 9 lies in the serious band of national and Tianjin, in the most serious of Inner Mongolia
    violation = "FRAUD-IMPERSONATION" if ruleset == "inner-mongolia-2025" else "UPCODING"
    entry = scoring.score(code, "c1", "2025-03-10", points=9, violation=violation, ruleset=ruleset)
    assert entry["year_total"] == 9
    assert entry["standing_before"]["status"] == "active"
    assert entry["standing_after"]["status"] == "suspended"
    # Tianjin's warning level (6) is reached on the way: a warning record beside the suspension.
    [sanction] = [s for s in entry["sanctions_created"] if s["kind"] == "suspension"]
    assert (sanction["kind"], sanction["months"], sanction["starts_on"]) == ("suspension", EXPECTED[ruleset]["months_at_9"], "2025-03-10")
    last_day = date.fromisoformat(sanction["until"])
    assert last_day == date(2025, 3, 10) + relativedelta(months=EXPECTED[ruleset]["months_at_9"]) - timedelta(days=1)
    assert scoring.standing(code, last_day.isoformat())["status"] == "suspended"
    assert scoring.standing(code, (last_day + timedelta(days=1)).isoformat())["status"] == "active"


def test_eight_then_nine_then_eleven_then_twelve(scoring):
    code = scoring.register()
    assert scoring.score(code, "a", "2025-02-01", points=6)["standing_after"]["status"] == "active"  # heavier 4-6
    e8 = scoring.score(code, "b", "2025-02-02", points=2, violation="RECORDS-MISSING")
    assert (e8["year_total"], e8["standing_after"]["status"], e8["sanctions_created"]) == (8, "active", [])
    e9 = scoring.score(code, "c", "2025-02-03", points=1, violation="RECORDS-MISSING")
    assert (e9["year_total"], e9["standing_after"]["status"]) == (9, "suspended")
    assert e9["sanctions_created"][0]["until"] == "2025-04-02"  # 2 months, inclusive
    e11 = scoring.score(code, "d", "2025-02-04", points=2, violation="RECORDS-MISSING")
    # A later score at or above the level: 6 months (for 11) from its own day, beside the first.
    [longer] = e11["sanctions_created"]
    assert (e11["year_total"], longer["starts_on"], longer["until"], longer["months"]) == (
        11, "2025-02-04", "2025-08-03", 6)
    assert scoring.standing(code, "2025-04-03")["suspended_until"] == "2025-08-03"
    case = scoring.post("e", [{"practitioner": code, "violation_type": "RECORDS-MISSING", "points": 1}],
                        day="2025-02-05").json()
    e12 = case["entries"][0]
    assert e12["standing_after"]["status"] == "terminated"
    [termination] = e12["sanctions_created"]
    # Both suspensions are cut short by the termination: changes, announced in the same answer.
    assert {(s["ends_on"], s["end_reason"]) for s in case["outcomes"][0]["sanctions_changed"]} == {
        ("2025-02-04", "superseded by termination")}
    assert case["outcomes"][0]["year_totals"] == {"2025": 12}
    assert (termination["kind"], termination["bar_until"]) == ("termination", "2026-02-05")
    standing = scoring.standing(code, "2025-06-01")
    assert standing["billing_allowed"] is False and standing["emergency_allowed"] is True
    assert standing["terminated_on"] == "2025-02-05" and standing["reregistration_barred_until"] == "2026-02-05"


def test_twelve_at_once_bars_for_three_years(scoring):
    code = scoring.register()
    entry = scoring.score(code, "fraud", "2025-05-20", violation="FRAUD-IMPERSONATION", tier="primary")
    assert entry["points"] == 12
    assert entry["sanctions_created"][0]["bar_until"] == "2028-05-20"


def test_new_year_in_asia_shanghai(scoring):
    code = scoring.register()
    scoring.score(code, "dec", "2025-12-31", points=6)
    scoring.score(code, "jan", "2026-01-01", points=6)
    # 2025-12-31T15:59:59Z is still 31 December in Shanghai; 16:00Z is already 1 January
    assert scoring.standing(code, "2025-12-31T15:59:59Z")["points"] == 6
    late = scoring.standing(code, "2025-12-31T16:30:00Z")
    assert (late["year"], late["points"]) == (2026, 6)
    assert scoring.standing(code, "2025-12-31T23:59:00+08:00")["year"] == 2025
    assert scoring.standing(code, "2026-06-01")["status"] == "active"  # 6 + 6 never in one year


def test_suspension_runs_across_the_new_year(scoring):
    code = scoring.register()
    entry = scoring.score(code, "late", "2025-12-01", points=9, violation="UPCODING")
    assert entry["sanctions_created"][0]["until"] == "2026-01-31"
    january = scoring.standing(code, "2026-01-15")
    assert (january["status"], january["points"]) == ("suspended", 0)
    assert scoring.standing(code, "2026-02-01")["status"] == "active"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["entries"][0].update(practitioner="D210402999999"), "body.entries.0.practitioner"),
        (lambda b: b["entries"][0].update(violation_type="NO-SUCH"), "body.entries.0.violation_type"),
        (lambda b: b["entries"][0].update(points=3), "body.entries.0.points"),  # heavier band is 4-6
        (lambda b: b["entries"][0].update(points=7), "body.entries.0.points"),
        (lambda b: b.update(decision_date="2099-01-01"), "body.decision_date"),
        (lambda b: b.update(decision_date="2020-06-01"), "body.decision_date"),  # before any ruleset
        (lambda b: b["entries"][0].update(suspension_months=7), "body.entries.0.suspension_months"),
        (lambda b: b["entries"][0].pop("points"), "body.entries.0"),  # neither tier nor points
        (lambda b: b["entries"][0].update(tier="chief"), "body.entries.0.tier"),
        (lambda b: b.update(entries=[]), "body.entries"),
        (lambda b: b.update(basis="rumour"), "body.basis"),
        (lambda b: b.update(institution="H99999900001"), "body.institution"),
    ],
)
def test_bad_cases_name_the_entry_and_record_nothing(scoring, engine, mutate, field):
    code = scoring.register()
    body = scoring.case_body("bad", [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "points": 5}])
    mutate(body)
    response = scoring.post_body(body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert table(engine, "SELECT COUNT(*) FROM score_cases")[0][0] == 0
    assert table(engine, "SELECT COUNT(*) FROM ledger")[0][0] == 0
    assert table(engine, "SELECT COUNT(*) FROM events")[0][0] == 0


def test_a_case_is_all_or_nothing(scoring, engine):
    good = scoring.register()
    body = scoring.case_body("mixed", [
        {"practitioner": good, "violation_type": "SPLIT-CHARGING", "tier": "general"},
        {"practitioner": "D210402999999", "violation_type": "SPLIT-CHARGING", "tier": "general"},
    ])
    response = scoring.post_body(body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.entries.1.practitioner"]
    assert table(engine, "SELECT COUNT(*) FROM ledger")[0][0] == 0
    assert scoring.standing(good, "2025-12-31")["points"] == 0


def test_practitioner_outside_the_callers_region_is_refused(scoring, make_key):
    code = scoring.register()  # in 210402
    county = make_key("bureau", "150428")
    body = scoring.case_body("x", [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "general"}],
                             ruleset="inner-mongolia-2025")
    response = scoring.post_body(body, headers=county)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.entries.0.practitioner"]


def test_idempotent_replay_and_conflicting_replay(scoring, engine):
    code = scoring.register()
    entries = [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "primary"}]
    first = scoring.post("k1", entries, key="idem-1")
    assert first.status_code == 201
    again = scoring.post("k1", entries, key="idem-1")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # same case_ref without a key is the same case too
    assert scoring.post("k1", entries).json() == first.json()
    # the key reused for a different body: 422, nothing changes
    changed = [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "general"}]
    conflict = scoring.post("k2", changed, key="idem-1")
    assert conflict.status_code == 422
    assert conflict.json()["errors"][0]["type"] == "idempotency_conflict"
    conflict = scoring.post("k1", changed)
    assert conflict.status_code == 422
    assert table(engine, "SELECT COUNT(*) FROM score_cases")[0][0] == 1
    assert table(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'entry'")[0][0] == 1
    assert table(engine, "SELECT COUNT(*) FROM events WHERE type = 'score.recorded'")[0][0] == 1
    assert scoring.standing(code, "2025-12-31")["points"] == 6


def test_get_case_returns_the_answer_in_scope_only(scoring, api, make_key):
    code = scoring.register()
    first = scoring.post("g", [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "primary"}]).json()
    assert api.get(f"/v1/score-cases/{first['id']}", headers=scoring.headers).json() == first
    assert api.get(f"/v1/score-cases/{first['id']}", headers=make_key("bureau", "150000")).status_code == 404
    assert api.get(f"/v1/score-cases/{first['id']}", headers=make_key("checker", "100000")).status_code == 403


def test_reversal_lifts_a_suspension(scoring, api, engine):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=5)
    trigger = scoring.score(code, "b", "2025-03-02", points=4)
    assert trigger["standing_after"]["status"] == "suspended"
    response = api.post(f"/v1/score-entries/{trigger['id']}/reversal", json={"reason": "申诉成立"}, headers=scoring.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["year_total"] == 5
    [lifted] = body["sanctions_lifted"]
    assert lifted["kind"] == "suspension" and "申诉成立" in lifted["lift_reason"]
    assert scoring.standing(code, "2025-03-15")["status"] == "active"
    # reversing again returns the first reversal and changes nothing
    again = api.post(f"/v1/score-entries/{trigger['id']}/reversal", json={"reason": "again"}, headers=scoring.headers)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert table(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'reversal'")[0][0] == 1
    assert table(engine, "SELECT COUNT(*) FROM events WHERE type = 'score.reversed'")[0][0] == 1


def test_reversal_turns_a_termination_back_into_a_suspension(scoring, api):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=9, violation="UPCODING")
    last = scoring.score(code, "b", "2025-03-05", points=3, violation="RECORDS-MISSING")
    assert last["standing_after"]["status"] == "terminated"
    body = api.post(f"/v1/score-entries/{last['id']}/reversal", json={"reason": "复议撤销"}, headers=scoring.headers).json()
    assert [s["kind"] for s in body["sanctions_lifted"]] == ["termination"]
    standing = scoring.standing(code, "2025-03-10")
    assert standing["status"] == "suspended" and standing["suspended_until"] == "2025-04-30"


def test_unknown_or_foreign_entry_cannot_be_reversed(scoring, api, make_key):
    code = scoring.register()
    entry = scoring.score(code, "a", "2025-03-01", points=5)
    assert api.post("/v1/score-entries/999999/reversal", json={"reason": "x"}, headers=scoring.headers).status_code == 404
    foreign = make_key("bureau", "150000")
    assert api.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "x"}, headers=foreign).status_code == 404
    assert api.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": ""}, headers=scoring.headers).status_code == 422


def repair(api, scoring, code, reference, day="2025-06-01", activity="policy_training"):
    return api.post(f"/v1/practitioners/{code}/repairs",
                    json={"activity": activity, "occurred_on": day, "reference": reference}, headers=scoring.headers)


def test_repair_cap_and_floor(scoring, api, engine):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=6)
    for n in range(4):
        response = repair(api, scoring, code, f"T-{n}")
        assert response.status_code == 201, response.text
        assert response.json()["points_removed"] == 1
    assert response.json()["year_total"] == 2
    capped = repair(api, scoring, code, "T-5")
    assert capped.status_code == 422 and "cap" in capped.json()["detail"]
    # the same reference again is a repeat, not a new repair
    assert repair(api, scoring, code, "T-0").status_code == 200
    other = scoring.register(code="D210402000002")
    floor = repair(api, scoring, other, "F-1")
    assert floor.status_code == 422 and "no points" in floor.json()["detail"]
    assert table(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'repair'")[0][0] == 4
    # a new year has a new cap
    scoring.score(code, "b", "2026-03-01", points=6)
    assert repair(api, scoring, code, "T-2026", day="2026-04-01").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [({"activity": "dancing", "occurred_on": "2025-06-01", "reference": "r"}, "body.activity"),
     ({"activity": "policy_training", "occurred_on": "2099-06-01", "reference": "r"}, "body.occurred_on"),
     ({"activity": "policy_training", "occurred_on": "2025-06-01"}, "body.reference")],
)
def test_bad_repairs(scoring, api, engine, body, field):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=6)
    response = api.post(f"/v1/practitioners/{code}/repairs", json=body, headers=scoring.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert table(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'repair'")[0][0] == 0


def test_reregistration_before_and_after_the_bar(scoring, api):
    code = scoring.register()
    scoring.score(code, "a", "2025-02-05", points=12, violation="FRAUD-IMPERSONATION")  # 12 at once: 3 years
    accumulated = scoring.register(code="D210402000002")
    scoring.score(accumulated, "b", "2025-02-05", points=9, violation="UPCODING")
    scoring.score(accumulated, "c", "2025-02-06", points=3, violation="RECORDS-MISSING")  # bar until 2026-02-06

    def reregister(who, day):
        return api.post(f"/v1/practitioners/{who}/registrations", json={"registered_on": day}, headers=scoring.headers)

    early = reregister(code, "2026-03-01")
    assert early.status_code == 409 and "2028-02-05" in early.json()["detail"]
    assert reregister(accumulated, "2026-02-05").status_code == 409
    ok = reregister(accumulated, "2026-02-06")
    assert ok.status_code == 201, ok.text
    assert scoring.standing(accumulated, "2026-02-06")["status"] == "active"
    assert scoring.standing(accumulated, "2026-02-05")["status"] == "terminated"
    assert reregister(accumulated, "2026-03-01").status_code == 409  # not terminated any more


def test_standing_before_registration_and_unknown_codes(scoring, api, make_key):
    code = scoring.register(registered_on="2024-06-01")
    assert scoring.standing(code, "2024-05-31")["status"] == "not_registered"
    assert scoring.standing(code, "2024-06-01")["billing_allowed"] is True
    assert api.get("/v1/practitioners/D210402000999/standing", headers=scoring.headers).status_code == 404
    bad = api.get(f"/v1/practitioners/{code}/standing", params={"at": "yesterday"}, headers=scoring.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.at"


def test_the_checks_at_parameter_is_refused_when_too_long_repeated_or_misspelt(scoring, api):
    code = scoring.register(registered_on="2024-06-01")
    url = f"/v1/practitioners/{code}/standing"
    assert api.get(url, params={"at": "2024-05-31T23:00:00.000000000+08:00"}, headers=scoring.headers).json()[
        "status"] == "not_registered"  # an instant of 35 characters is read
    for params in ({"at": "2025-01-01T00:00:00" + "0" * 30}, [("at", "2025-01-01"), ("at", "2024-01-01")], {"on": "2025-01-01"}):
        response = api.get(url, params=params, headers=scoring.headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == f"query.{'on' if 'on' in dict(params) else 'at'}"


def test_batch_standing_query(scoring, api, make_key):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=9, violation="UPCODING")
    checker = make_key("checker", "210000")
    codes = [code, "D210402000999", "bad code"]
    response = api.post("/v1/standings/query", json={"codes": codes, "at": "2025-03-15"}, headers=checker)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["code"] for r in results] == codes
    assert results[0]["standing"]["status"] == "suspended"
    assert [r["found"] for r in results] == [True, False, False]
    # National: a settlement system in another province may ask too (the answer holds no personal data)
    outside = make_key("checker", "150000")
    [far] = api.post("/v1/standings/query", json={"codes": [code], "at": "2025-03-15"}, headers=outside).json()["results"]
    assert far["found"] is True and far["standing"] == results[0]["standing"]
    assert "name" not in far["standing"] and "id_number" not in far["standing"]
    too_many = api.post("/v1/standings/query", json={"codes": ["D210402000001"] * 1001}, headers=checker)
    assert too_many.status_code == 422
    # a checker reads standings only
    assert api.get(f"/v1/practitioners/{code}/dossier", headers=checker).status_code == 403
    assert api.post("/v1/score-cases", json={}, headers=checker).status_code in (403, 422)


def test_dossier_has_everything(scoring, api):
    code = scoring.register()
    a = scoring.score(code, "a", "2025-03-01", points=5)
    b = scoring.score(code, "b", "2025-03-02", points=4)
    api.post(f"/v1/score-entries/{b['id']}/reversal", json={"reason": "错误"}, headers=scoring.headers)
    repair(api, scoring, code, "T-1")
    dossier = api.get(f"/v1/practitioners/{code}/dossier", headers=scoring.headers).json()
    assert dossier["practitioner"]["code"] == code
    assert dossier["points_by_year"] == {"2025": {"points": 4, "repaired": 1}}
    kinds = [row["kind"] for row in dossier["ledger"]]
    assert kinds == ["entry", "entry", "sanction", "reversal", "sanction_lift", "repair"]
    entries = {row["id"]: row for row in dossier["ledger"] if row["kind"] == "entry"}
    assert entries[a["id"]]["reversed"] is False and entries[b["id"]]["reversal_reason"] == "错误"
    assert [(s["kind"], s["lifted"]) for s in dossier["sanctions"]] == [("suspension", True)]


def test_events_are_written_with_the_change(scoring, engine):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=9, violation="UPCODING")
    rows = table(engine, "SELECT type, subject FROM events ORDER BY id")
    assert rows[:2] == [("score.recorded", code), ("standing.changed", code)]
    assert [t for t, _s in rows[2:]] == ["referral.created"]  # the joint-sanction notice to health


def test_violation_types_and_rulesets(scoring, api, make_key):
    partner = make_key("partner", "150428", "health")
    catalogue = api.get("/v1/violation-types", params={"on": "2025-06-01"}, headers=partner).json()
    assert catalogue["ruleset"] == "inner-mongolia-2025" and len(catalogue["violation_types"]) >= 25
    national = api.get("/v1/violation-types", params={"region": "210402", "on": "2025-06-01"}, headers=partner).json()
    assert national["ruleset"] == "national-2024"
    assert api.get("/v1/violation-types", params={"region": "210402", "on": "2020-01-01"}, headers=partner).status_code == 404
    listed = api.get("/v1/rulesets", headers=partner).json()
    assert {r["id"] for r in listed} == set(EXPECTED)
    full = api.get("/v1/rulesets/tianjin-2024", headers=partner).json()
    assert full["thresholds"]["warning"] == 6 and len(full["sha256"]) == 64
    assert api.get("/v1/rulesets/nope", headers=partner).status_code == 404


def test_ledger_verify_finds_a_tampered_row(scoring, engine, capsys):
    from app.cli import main

    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=5)
    scoring.score(code, "b", "2025-03-02", points=4)
    assert main(["ledger", "verify"]) == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET points = 1 WHERE seq = 1"))
    assert main(["ledger", "verify"]) == 1
    assert "row 1: content does not match its hash" in capsys.readouterr().out


def test_a_case_of_many_people_writes_each_ledger_timeline_and_event_once(scoring, engine, capsys):
    """A multi-person case goes through the one-statement writes (ledger rows, standings inserted
    for new people and updated for known ones, events): every row lands, chained, with its id."""
    from app.cli import main

    codes = [scoring.register(code=f"D150428{n:06d}") for n in range(1, 7)]
    scoring.score(codes[0], "before", "2025-02-01", points=4)  # a stored timeline to update
    heavy = violation_with(9, "national-2024")
    response = scoring.post("many", [{"practitioner": c, "violation_type": heavy if c == codes[1] else "SPLIT-CHARGING",
                                      "points": 9 if c == codes[1] else 4} for c in codes], day="2025-03-01")
    assert response.status_code == 201, response.text
    entries = response.json()["entries"]
    assert [e["practitioner"] for e in entries] == codes
    assert len({e["id"] for e in entries}) == 6 and all(isinstance(e["id"], int) for e in entries)
    assert [e["year_total"] for e in entries] == [8, 9, 4, 4, 4, 4]
    assert [len(e["sanctions_created"]) for e in entries] == [0, 1, 0, 0, 0, 0]
    stored = dict(table(engine, "SELECT l.id, p.code FROM ledger l JOIN practitioners p ON p.id = l.practitioner_id "
                                "WHERE l.kind = 'entry'"))
    assert all(stored[e["id"]] == e["practitioner"] for e in entries)  # each id names its own person's row
    assert [scoring.standing(c, "2025-03-02")["points"] for c in codes] == [8, 9, 4, 4, 4, 4]
    recorded = table(engine, "SELECT subject FROM events WHERE type = 'score.recorded' ORDER BY id")
    assert recorded[1:] == [(c,) for c in codes]
    assert main(["ledger", "verify"]) == 0, capsys.readouterr().out

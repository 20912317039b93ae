"""Due process end to end: notification, defence, confirmation, withdrawal, appeals, statements."""

import json
from datetime import date

import pytest
from sqlalchemy import text

from app.cli import main as cli
from app.dueprocess import machine
from app.dueprocess.service import close_windows


def event_types(engine):
    with engine.connect() as conn:
        return [t for (t,) in conn.execute(text("SELECT type FROM events ORDER BY id"))]


def test_a_proposed_entry_does_not_count(scoring, due, clock, engine):
    clock.set("2025-03-10")
    code = scoring.register()
    due.count(code, "before", "2025-03-03", 8)
    entry = due.notify(code, "p1", "2025-03-10", points=3)
    assert entry["status"] == "proposed" and entry["id"] is None
    assert entry["defence_deadline"] == "2025-03-17"  # Monday + 5 working days
    assert entry["year_total"] == 8 and entry["sanctions_created"] == []
    assert entry["standing_after"] == entry["standing_before"]
    assert scoring.standing(code, "2025-12-31")["points"] == 8
    assert scoring.standing(code, "2025-12-31")["status"] == "active"
    assert event_types(engine)[-1] == "score.proposed"
    proposal = due.get(f"/v1/score-proposals/{entry['proposal_id']}")
    assert proposal["status"] == "proposed" and proposal["allowed_actions"] == ["confirm", "defend", "withdraw"]
    dossier = due.get(f"/v1/practitioners/{code}/dossier")
    assert [p["id"] for p in dossier["proposals"]] == [entry["proposal_id"]]
    assert [r["kind"] for r in dossier["ledger"]] == ["entry"]  # only the counted case


def test_notified_on_must_lie_between_decision_and_today(scoring, clock):
    clock.set("2025-03-10")
    code = scoring.register()
    item = [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "general"}]
    for notified_on in ("2025-03-01", "2025-03-11"):
        response = scoring.post("x", item, day="2025-03-05", procedure="notify", notified_on=notified_on)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["body.notified_on"]
    response = scoring.post("y", item, day="2025-03-05", notified_on="2025-03-06")  # completed procedure
    assert response.status_code == 422


def test_defence_within_the_window_and_repeat(due, scoring, clock, engine):
    clock.set("2025-01-24")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-01-24", points=2)["proposal_id"]
    clock.set("2025-02-07")  # the last day: the window ran across the Spring Festival
    evidence = [{"uri": "https://evidence.example.cn/a.pdf", "sha256": "a" * 64}]
    first = due.act(proposal_id, "defend", evidence=evidence)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "defended"
    assert first.json()["defence"]["evidence"][0]["uri"] == "https://evidence.example.cn/a.pdf"
    assert due.act(proposal_id, "defend", evidence=evidence).status_code == 200  # the same again: unchanged
    other = due.act(proposal_id, "defend", text="另一份申辩")
    assert other.status_code == 409
    assert other.json()["allowed"] == ["confirm", "withdraw"]
    assert event_types(engine).count("score.defence_submitted") == 1


def test_a_late_defence_is_409_naming_the_deadline(due, scoring, clock):
    clock.set("2025-01-24")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-01-24", points=2)["proposal_id"]
    clock.set("2025-02-08")  # a worked Saturday, but the day after the deadline
    response = due.act(proposal_id, "defend")
    assert response.status_code == 409
    assert response.json()["deadline"] == "2025-02-07" and "2025-02-07" in response.json()["detail"]
    assert due.get(f"/v1/score-proposals/{proposal_id}")["status"] == "proposed"


def test_defence_text_is_limited_to_4000_characters(due, scoring, clock):
    clock.set("2025-03-10")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-03-10", points=2)["proposal_id"]
    response = due.act(proposal_id, "defend", text="申" * 4001)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.text"]
    assert due.act(proposal_id, "defend", text="申" * 4000).status_code == 201


@pytest.mark.parametrize(("ruleset", "effective_on"), [
    ("national-2024", "2025-03-20"),  # counts from the confirmation date
    ("tianjin-2024", "2025-03-10"),   # counts from the decision date
])
def test_confirmation_crossing_nine_suspends_from_the_rulesets_date(due, scoring, clock, engine, ruleset, effective_on):
    clock.set("2025-03-10")
    code = scoring.register(ruleset)
    due.count(code, "before", "2025-03-03", 8, ruleset=ruleset)
    proposal_id = due.notify(code, "p1", "2025-03-10", points=1, ruleset=ruleset)["proposal_id"]
    clock.set("2025-03-20")
    response = due.act(proposal_id, "confirm")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["effective_on"] == effective_on and answer["year_total"] == 9
    assert answer["proposal"]["status"] == "confirmed" and answer["proposal"]["entry_id"]
    assert [s["kind"] for s in answer["sanctions_created"]] == ["suspension"]
    assert answer["sanctions_created"][0]["starts_on"] == effective_on
    assert answer["standing_after"]["status"] == "suspended"
    assert scoring.standing(code, effective_on)["status"] == "suspended"
    types = event_types(engine)
    scoring_steps = [t for t in types if not t.startswith("referral.")]
    assert scoring_steps[-3:] == ["score.confirmed", "score.recorded", "standing.changed"]
    assert types[-1] == "referral.created"  # joint sanction: the health commission is told


def test_confirmation_is_serialised_with_the_ledger(due, scoring, clock, engine):
    """A confirmed entry is an ordinary ledger row: chained, reversible, verified."""
    clock.set("2025-03-10")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-03-10", points=3)["proposal_id"]
    entry_id = due.act(proposal_id, "confirm").json()["proposal"]["entry_id"]
    assert cli(["ledger", "verify"]) == 0
    reversal = scoring.client.post(f"/v1/score-entries/{entry_id}/reversal", json={"reason": "错误"},
                                   headers=scoring.headers)
    assert reversal.status_code == 201
    assert scoring.standing(code, "2025-12-31")["points"] == 0


def test_automatic_confirmation_when_the_window_closes_without_defence(due, scoring, clock, capsys):
    clock.set("2025-09-30")
    national = scoring.register("national-2024")
    tianjin = scoring.register("tianjin-2024")
    quiet = due.notify(national, "quiet", "2025-09-30", points=2)["proposal_id"]
    defended = due.notify(national, "defended", "2025-09-30", points=2)["proposal_id"]
    manual = due.notify(tianjin, "manual", "2025-09-30", points=2, ruleset="tianjin-2024")["proposal_id"]
    assert due.act(defended, "defend").status_code == 201
    # 5 working days from 30 September: National Day off, Saturday 11 October worked.
    assert due.get(f"/v1/score-proposals/{quiet}")["defence_deadline"] == "2025-10-14"
    assert close_windows(today=date(2025, 10, 14)) == 0  # the last day of the window
    clock.set("2025-10-20")
    assert cli(["scoring", "close-windows", "--today", "2025-10-15"]) == 0
    assert "1 proposals confirmed" in capsys.readouterr().err
    confirmed = due.get(f"/v1/score-proposals/{quiet}")
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_automatically"] is True
    assert confirmed["decided_on"] == "2025-10-15"  # the day after the window, whenever the job ran
    assert due.get(f"/v1/score-proposals/{defended}")["status"] == "defended"  # the bureau must decide
    assert due.get(f"/v1/score-proposals/{manual}")["status"] == "proposed"  # Tianjin: no auto confirmation
    assert scoring.standing(national, "2025-12-31")["points"] == 2
    assert close_windows(today=date(2025, 10, 20)) == 0  # nothing twice


def test_withdrawal(due, scoring, clock, engine):
    clock.set("2025-03-10")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-03-10", points=9)["proposal_id"]
    response = due.act(proposal_id, "withdraw", reason="证据不足")
    assert response.status_code == 201
    assert response.json()["status"] == "withdrawn" and response.json()["decision_reason"] == "证据不足"
    assert scoring.standing(code, "2025-12-31")["points"] == 0
    assert event_types(engine)[-1] == "score.withdrawn"
    again = due.act(proposal_id, "confirm")
    assert again.status_code == 409 and again.json()["allowed"] == []


def _to_state(due, scoring, clock, state, ref):
    clock.set("2025-03-10")
    code = scoring.register(code=f"D2104020000{ref:02d}")
    proposal_id = due.notify(code, f"t{ref}", "2025-03-10", points=2)["proposal_id"]
    if state == "defended":
        assert due.act(proposal_id, "defend").status_code == 201
    elif state in ("confirmed", "withdrawn"):
        assert due.act(proposal_id, {"confirmed": "confirm", "withdrawn": "withdraw"}[state]).status_code == 201
    return proposal_id


@pytest.mark.parametrize("state", list(machine.PROPOSAL))
@pytest.mark.parametrize("action", ["defend", "confirm", "withdraw"])
def test_every_proposal_transition(due, scoring, clock, state, action):
    ref = list(machine.PROPOSAL).index(state) * 3 + ["defend", "confirm", "withdraw"].index(action) + 1
    proposal_id = _to_state(due, scoring, clock, state, ref)
    response = due.act(proposal_id, action, **({"text": "另一份申辩"} if action == "defend" else {}))
    if action in machine.PROPOSAL[state]:
        assert response.status_code == 201, response.text
        assert due.get(f"/v1/score-proposals/{proposal_id}")["status"] == machine.PROPOSAL[state][action]
    else:
        assert response.status_code == 409, response.text
        assert response.json()["type"] == "illegal-transition"
        assert response.json()["state"] == state
        assert response.json()["allowed"] == sorted(machine.PROPOSAL[state])


def test_appeal_upheld_lifts_the_suspension(due, scoring, clock, engine):
    clock.set("2025-06-02")
    code = scoring.register()
    entry = due.count(code, "c1", "2025-06-02", 9)
    assert [s["kind"] for s in entry["sanctions_created"]] == ["suspension"]
    clock.set("2025-06-10")
    filed = due.appeal(entry["id"])
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["status"] == "open" and appeal["deadline"] == "2025-06-23"  # 15 working days, Dragon Boat off
    assert due.get("/v1/score-appeals", status="open")["items"][0]["id"] == appeal["id"]
    decided = due.decide(appeal["id"], "upheld", "原处罚决定已撤销")
    assert decided.status_code == 201, decided.text
    body = decided.json()
    assert body["appeal"]["status"] == "upheld" and body["appeal"]["reversal_id"]
    assert [s["kind"] for s in body["sanctions_lifted"]] == ["suspension"]
    assert "appeal" in body["sanctions_lifted"][0]["lift_reason"]
    assert scoring.standing(code, "2025-06-15")["status"] == "active"
    assert scoring.standing(code, "2025-06-15")["points"] == 0
    again = due.decide(appeal["id"], "rejected")
    assert again.status_code == 409 and again.json()["allowed"] == []
    assert due.appeal(entry["id"], grounds="再次申诉").status_code == 409
    assert "score.appeal_decided" in event_types(engine)


def test_appeal_rejected_keeps_the_entry(due, scoring, clock):
    clock.set("2025-06-02")
    code = scoring.register()
    entry = due.count(code, "c1", "2025-06-02", 9)
    appeal = due.appeal(entry["id"]).json()
    assert due.appeal(entry["id"]).status_code == 200  # the same appeal again: unchanged
    decided = due.decide(appeal["id"], "rejected", "理由不成立")
    assert decided.status_code == 201
    assert decided.json()["appeal"]["decision_reason"] == "理由不成立"
    assert decided.json()["sanctions_lifted"] == []
    assert scoring.standing(code, "2025-06-15")["status"] == "suspended"
    assert due.get("/v1/score-appeals", status="open")["items"] == []


def test_a_late_appeal_is_409_naming_the_deadline(due, scoring, clock):
    clock.set("2025-06-02")
    code = scoring.register()
    entry = due.count(code, "c1", "2025-06-02", 2)
    clock.set("2025-06-24")
    response = due.appeal(entry["id"])
    assert response.status_code == 409 and response.json()["deadline"] == "2025-06-23"


def test_a_reversed_entry_cannot_be_appealed(due, scoring, clock):
    clock.set("2025-06-02")
    code = scoring.register()
    entry = due.count(code, "c1", "2025-06-02", 2)
    scoring.client.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "错误"}, headers=scoring.headers)
    response = due.appeal(entry["id"])
    assert response.status_code == 409 and response.json()["state"] == "reversed"


def test_statements_stay_on_the_dossier(due, scoring, clock, api, engine):
    clock.set("2025-06-02")
    code = scoring.register()
    entry = due.count(code, "c1", "2025-06-02", 2)
    response = api.post(f"/v1/score-entries/{entry['id']}/statements",
                        json={"channel": "practitioner", "text": "本人对该记分有不同意见，已整改"}, headers=scoring.headers)
    assert response.status_code == 201
    dossier = due.get(f"/v1/practitioners/{code}/dossier")
    assert [(s["entry_id"], s["text"]) for s in dossier["statements"]] == [(entry["id"], "本人对该记分有不同意见，已整改")]
    assert event_types(engine)[-1] == "score.statement_added"


def test_queues_for_the_bureau(due, scoring, clock):
    clock.set("2025-03-10")
    code = scoring.register()
    first = due.notify(code, "p1", "2025-03-03", notified_on="2025-03-03", points=1)["proposal_id"]  # closes 03-10
    second = due.notify(code, "p2", "2025-03-10", points=1)["proposal_id"]  # closes 03-17
    third = due.notify(code, "p3", "2025-03-10", points=1)["proposal_id"]
    assert due.act(third, "defend").status_code == 201
    assert [p["id"] for p in due.get("/v1/score-proposals", status="proposed")["items"]] == [first, second]
    assert [p["id"] for p in due.get("/v1/score-proposals", status="defended")["items"]] == [third]
    assert [p["id"] for p in due.get("/v1/score-proposals", closing_within=0)["items"]] == [first]
    assert [p["id"] for p in due.get("/v1/score-proposals", closing_within=5)["items"]] == [first, second]
    page = due.get("/v1/score-proposals", limit=2)
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert [p["id"] for p in due.get("/v1/score-proposals", limit=2, cursor=page["next_cursor"])["items"]] == [third]


def test_other_regions_see_nothing(due, scoring, clock, api, make_key):
    clock.set("2025-03-10")
    code = scoring.register()  # Liaoning
    proposal_id = due.notify(code, "p1", "2025-03-10", points=1)["proposal_id"]
    entry = due.count(code, "c1", "2025-03-10", 1)
    tianjin = make_key("bureau", "120000")
    assert api.get(f"/v1/score-proposals/{proposal_id}", headers=tianjin).status_code == 404
    assert api.post(f"/v1/score-proposals/{proposal_id}/confirmation", json={"reason": "x"},
                    headers=tianjin).status_code == 404
    assert api.post(f"/v1/score-entries/{entry['id']}/appeals",
                    json={"channel": "practitioner", "grounds": "x"}, headers=tianjin).status_code == 404
    assert api.get("/v1/score-proposals", headers=tianjin).json()["items"] == []
    checker = make_key("checker", "100000")
    assert api.post(f"/v1/score-proposals/{proposal_id}/defence",
                    json={"channel": "practitioner", "text": "x"}, headers=checker).status_code == 403


def test_events_payloads_name_the_steps(due, scoring, clock, engine):
    clock.set("2025-03-10")
    code = scoring.register()
    proposal_id = due.notify(code, "p1", "2025-03-10", points=1)["proposal_id"]
    due.act(proposal_id, "defend")
    due.act(proposal_id, "confirm")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT type, subject, payload FROM events ORDER BY id")).all()
    steps = [(t, json.loads(p).get("proposal_id")) for t, s, p in rows if s == code and t.startswith("score.")]
    assert steps == [("score.proposed", proposal_id), ("score.defence_submitted", proposal_id),
                     ("score.confirmed", proposal_id), ("score.recorded", None)]


def test_a_regions_queue_is_not_hidden_behind_other_regions_rows(due, scoring, clock, api, make_key):
    """Pages are cut after the region filter, so earlier rows elsewhere never crowd a page out."""
    clock.set("2025-03-10")
    liaoning = scoring.register()
    for n in range(3):
        due.notify(liaoning, f"l{n}", "2025-03-10", 1)
    tianjin_code = scoring.register("tianjin-2024")
    mine = due.notify(tianjin_code, "t1", "2025-03-10", 1, ruleset="tianjin-2024")["proposal_id"]
    tianjin = make_key("bureau", "120000")
    page = api.get("/v1/score-proposals", params={"limit": 2}, headers=tianjin).json()
    assert [p["id"] for p in page["items"]] == [mine] and page["next_cursor"] is None


def test_a_notified_entry_confirmed_in_january_counts_in_the_new_year_everywhere(due, scoring, api, clock):
    """Decided on 26 December, confirmed in January under a ruleset that counts from the
    confirmation: the case answer does not claim the old year; confirmation, dossier and count
    all say the new one."""
    clock.set("2025-12-26")
    code = scoring.register()
    proposed = due.notify(code, "dec", "2025-12-26", points=4)
    assert (proposed["year"], proposed["counts_from"]) == (None, "confirmation")
    clock.set("2026-01-05")
    answer = due.act(proposed["proposal_id"], "confirm").json()
    assert (answer["effective_on"], answer["year"], answer["year_total"]) == ("2026-01-05", 2026, 4)
    assert answer["year_totals"] == {"2026": 4}
    dossier = api.get(f"/v1/practitioners/{code}/dossier", headers=scoring.headers).json()
    assert dossier["points_by_year"] == {"2026": {"points": 4, "repaired": 0}}
    assert scoring.standing(code, "2025-12-31")["points"] == 0
    assert scoring.standing(code, "2026-01-05")["points"] == 4

"""Loading a year settles the stored provisional deadlines in the same transaction, never
shortening one; a correction recounts the settled ones too."""

import json
from datetime import date

from sqlalchemy import text

from app.dueprocess.service import close_windows

NEW_YEAR = ("2027-01-01", "holiday", "元旦")
SPRING = ("2027-02-10", "holiday", "春节")


def events(engine, type_):
    with engine.connect() as conn:
        return [json.loads(p) for (p,) in conn.execute(
            text("SELECT payload FROM events WHERE type = :t ORDER BY id"), {"t": type_})]


def practitioner_audit(engine, code):
    with engine.connect() as conn:
        return [(a, json.loads(s)) for a, s in conn.execute(
            text("SELECT action, summary FROM audit_log WHERE object = :o ORDER BY id"), {"o": f"practitioner:{code}"})]


def proposal(due, proposal_id):
    return due.get(f"/v1/score-proposals/{proposal_id}")


def notified_on_28_december(scoring, due, clock, ref="p1", code=None):
    clock.set("2026-12-28")
    code = code or scoring.register()
    entry = due.notify(code, ref, "2026-12-28", points=2)
    assert (entry["defence_deadline"], entry["defence_deadline_provisional"]) == ("2027-01-04", True)
    return code, entry["proposal_id"]


def test_loading_the_year_extends_a_provisional_deadline_and_records_it(scoring, due, clock, admin_calendar, engine):
    code, proposal_id = notified_on_28_december(scoring, due, clock)
    loaded = admin_calendar.load(2027, [NEW_YEAR, SPRING])
    assert loaded["recomputed"]["proposals"] == 1
    # 1 January is a holiday after all: Tue 29, Wed 30, Thu 31, Mon 4, Tue 5
    settled = proposal(due, proposal_id)
    assert (settled["defence_deadline"], settled["defence_deadline_provisional"]) == ("2027-01-05", False)
    [event] = events(engine, "score.defence_deadline_recomputed")
    assert event == {"practitioner": code, "proposal_id": proposal_id, "before": "2027-01-04",
                     "after": "2027-01-05", "provisional": False, "calendar_year": 2027}
    assert practitioner_audit(engine, code)[-1][0] == "score.defence_deadline_recomputed"
    # the dossier and the case show the settled deadline
    dossier = due.get(f"/v1/practitioners/{code}/dossier")
    assert dossier["proposals"][0]["defence_deadline_provisional"] is False
    case = due.get(f"/v1/score-cases/{proposal(due, proposal_id)['case_id']}")
    assert (case["entries"][0]["defence_deadline"], case["entries"][0]["defence_deadline_provisional"]) == (
        "2027-01-05", False)


def test_a_provisional_deadline_is_never_shortened(scoring, due, clock, admin_calendar):
    _code, proposal_id = notified_on_28_december(scoring, due, clock)
    # Saturday 2 January worked: counted officially the window would end on Saturday 2 January.
    loaded = admin_calendar.load(2027, [("2027-01-02", "workday", "元旦"), SPRING])
    assert loaded["recomputed"]["proposals"] == 1  # settled, at the later day
    settled = proposal(due, proposal_id)
    assert (settled["defence_deadline"], settled["defence_deadline_provisional"]) == ("2027-01-04", False)


def test_a_correction_recounts_settled_deadlines_never_shorter(scoring, due, clock, admin_calendar, engine):
    _code, proposal_id = notified_on_28_december(scoring, due, clock)
    admin_calendar.load(2027, [NEW_YEAR, SPRING])
    assert proposal(due, proposal_id)["defence_deadline"] == "2027-01-05"
    # a proposal notified once the year was known: settled from the start
    clock.set("2026-12-29")
    later = due.notify(scoring.register(code="D210402000002"), "p2", "2026-12-29", points=2)
    assert (later["defence_deadline"], later["defence_deadline_provisional"]) == ("2027-01-06", False)
    corrected = admin_calendar.load(2027, [NEW_YEAR, ("2027-01-04", "holiday", "元旦"), SPRING])
    assert corrected["revision"] == 2 and corrected["recomputed"]["proposals"] == 2
    assert proposal(due, proposal_id)["defence_deadline"] == "2027-01-06"
    assert proposal(due, later["proposal_id"])["defence_deadline"] == "2027-01-07"
    # a second correction taking 4 January back out would shorten both: they stay
    shrunk = admin_calendar.load(2027, [NEW_YEAR, SPRING])
    assert shrunk["recomputed"]["proposals"] == 0
    assert proposal(due, proposal_id)["defence_deadline"] == "2027-01-06"
    assert proposal(due, later["proposal_id"])["defence_deadline"] == "2027-01-07"


def test_decided_proposals_keep_their_deadline(scoring, due, clock, admin_calendar):
    _code, proposal_id = notified_on_28_december(scoring, due, clock)
    assert due.act(proposal_id, "withdraw").status_code == 201
    assert admin_calendar.load(2027, [NEW_YEAR, SPRING])["recomputed"]["proposals"] == 0
    withdrawn = proposal(due, proposal_id)
    assert (withdrawn["defence_deadline"], withdrawn["defence_deadline_provisional"]) == ("2027-01-04", True)


def test_automatic_confirmation_waits_for_a_settled_window(scoring, due, clock, admin_calendar):
    _code, proposal_id = notified_on_28_december(scoring, due, clock)
    clock.set("2027-01-05")
    assert close_windows(today=date(2027, 1, 5)) == 0  # provisionally closed on the 4th: not acted on
    assert proposal(due, proposal_id)["status"] == "proposed"
    admin_calendar.load(2027, [NEW_YEAR, SPRING])
    assert close_windows(today=date(2027, 1, 5)) == 0  # the settled window runs to the 5th
    assert close_windows(today=date(2027, 1, 6)) == 1
    assert proposal(due, proposal_id)["decided_on"] == "2027-01-06"


def test_a_correction_lists_windows_confirmed_before_their_new_deadline(scoring, due, clock, admin_calendar):
    _code, proposal_id = notified_on_28_december(scoring, due, clock)
    admin_calendar.load(2027, [NEW_YEAR, SPRING])
    clock.set("2027-01-06")
    assert close_windows(today=date(2027, 1, 6)) == 1  # confirmed on the 6th, after the window of the 5th
    corrected = admin_calendar.load(2027, [NEW_YEAR, ("2027-01-05", "holiday", "元旦"), SPRING])
    assert corrected["recomputed"] == {"proposals": 0, "appeals": 0, "confirmed_before_deadline": [proposal_id]}
    confirmed = proposal(due, proposal_id)
    assert (confirmed["status"], confirmed["defence_deadline"]) == ("confirmed", "2027-01-05")  # not rewritten


def test_an_appeal_deadline_is_settled_when_the_year_arrives(scoring, due, clock, admin_calendar, engine):
    clock.set("2026-12-28")
    code = scoring.register()
    entry = due.count(code, "c1", "2026-12-28", points=2)
    appeal = due.appeal(entry["id"])
    assert appeal.status_code == 201, appeal.text
    # 15 working days with weekends only: 29-31 Dec, 1 Jan, 4-8, 11-15, 18 Jan
    assert (appeal.json()["deadline"], appeal.json()["deadline_provisional"]) == ("2027-01-18", True)
    loaded = admin_calendar.load(2027, [NEW_YEAR, SPRING])
    assert loaded["recomputed"]["appeals"] == 1
    settled = due.get(f"/v1/score-appeals/{appeal.json()['id']}")
    assert (settled["deadline"], settled["deadline_provisional"]) == ("2027-01-19", False)
    assert events(engine, "score.appeal_deadline_recomputed")[0]["after"] == "2027-01-19"


def test_loading_commits_nothing_when_it_fails(scoring, due, clock, admin_calendar, monkeypatch):
    """The days, the recomputed deadlines and the audit record are one transaction."""
    from app.calendar import service

    _code, proposal_id = notified_on_28_december(scoring, due, clock)

    def broken(*_args, **_kw):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(service.audit, "record", broken)
    assert admin_calendar.put(2027, {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}).status_code == 500
    assert admin_calendar.put(2027, {"days": []}).status_code == 422
    assert due.get("/v1/calendar/years")["covered_through"] == 2026
    assert proposal(due, proposal_id)["defence_deadline_provisional"] is True

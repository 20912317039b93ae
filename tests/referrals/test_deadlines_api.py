"""Deadlines as the API shows them, across the 2025 Spring Festival and National Day, and the
one 15-working-day extension of the filing decision."""

from datetime import date

from app.auth.service import authenticate
from app.kit.db import read_session
from app.referrals import service


def test_receipt_deadline_across_the_spring_festival(referrals, api):
    referral = referrals.create(on="2025-01-20")
    sent = referrals.step(referral["id"], "send", referrals.bureau, on="2025-01-24")
    # Sun 26 and Mon 27 Jan worked, 28 Jan - 4 Feb off, then 5, 6, 7 Feb
    assert sent["deadline"] == {"kind": "receipt", "due_on": "2025-02-07", "provisional": False, "problem": None}
    def listed(day):
        return [r["id"] for r in api.get("/v1/referrals", params={"overdue": True, "as_of": day},
                                         headers=referrals.bureau).json()["items"]]
    assert listed("2025-02-07") == [] and listed("2025-02-08") == [referral["id"]]


def test_filing_deadline_across_national_day_and_the_extension_once(referrals):
    referral = referrals.create(on="2025-09-15")
    referrals.step(referral["id"], "send", referrals.bureau, on="2025-09-19")
    received = referrals.step(referral["id"], "receive", referrals.health, on="2025-09-22")
    # 23-26 Sep, Sun 28 Sep worked, 29-30 Sep, 1-8 Oct off, 9-10 Oct, Sat 11 Oct worked, 13-17 Oct
    assert received["deadline"]["kind"] == "filing" and received["deadline"]["due_on"] == "2025-10-17"
    no_reason = referrals.post(referral["id"], "extend", referrals.health, reason=None)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "body.reason"
    assert referrals.post(referral["id"], "extend", referrals.bureau).status_code == 409  # the recipient's to ask
    extended = referrals.step(referral["id"], "extend", referrals.health, on="2025-10-15", reason="需调取外院病历")
    assert extended["status"] == "received" and extended["extended_on"] == "2025-10-15"
    assert extended["deadline"]["due_on"] == "2025-11-07"  # 15 more working days: 20 Oct - 7 Nov
    assert extended["history"][-1]["reason"] == "需调取外院病历"
    assert "extend" not in extended["allowed_actions"]
    again = referrals.post(referral["id"], "extend", referrals.health, on="2025-10-20")
    assert again.status_code == 409
    assert again.json()["allowed"] == ["decline", "file", "return"]
    filed = referrals.step(referral["id"], "file", referrals.health, on="2025-11-03")
    assert filed["deadline"] == {"kind": "conclusion", "due_on": "2026-02-02", "provisional": False, "problem": None}  # 1 Feb is a Sunday


def test_a_deadline_beyond_the_calendar_is_provisional_and_follows_the_year_once_loaded(referrals, admin_calendar):
    referral = referrals.create(on="2026-11-20")
    referrals.step(referral["id"], "send", referrals.bureau, on="2026-11-20")
    referrals.step(referral["id"], "receive", referrals.health, on="2026-11-20")
    referrals.step(referral["id"], "file", referrals.health, on="2026-11-20")
    with read_session() as session:
        caller = authenticate(session, referrals.bureau["Authorization"].split()[1])
        # 2027 has no official holiday data yet: 18 Feb 2027 (a Thursday) counted with weekends only
        later = service.get(session, caller, referral["id"], today=date(2026, 12, 1))
    assert later.deadline.kind == "conclusion" and later.deadline.due_on == date(2027, 2, 18)
    assert later.deadline.provisional and "2027" in later.deadline.problem and later.overdue is False
    # The year arrives with 18 February inside the Spring Festival: the deadline runs on past it.
    admin_calendar.load(2027, [("2027-02-18", "holiday", "春节"), ("2027-02-19", "holiday", "春节")])
    with read_session() as session:
        settled = service.get(session, caller, referral["id"], today=date(2026, 12, 1))
    assert settled.deadline.due_on == date(2027, 2, 22) and not settled.deadline.provisional
    assert settled.deadline.problem is None

"""The outage of December 2026: every deadline reaching into 2027, a year without official holiday
data, answered 422. Such a deadline is now counted with weekends only and marked provisional."""


def test_a_defence_window_reaching_into_a_year_without_official_data_is_served(scoring, due, clock):
    clock.set("2026-12-28")  # a Monday
    code = scoring.register()
    entry = due.notify(code, "outage-1", "2026-12-28", points=3)
    # Tue 29, Wed 30, Thu 31 Dec, Fri 1 and Mon 4 Jan 2027: 1 January counted as a working day,
    # since no notice for 2027 is known yet.
    assert entry["defence_deadline"] == "2027-01-04"
    assert entry["defence_deadline_provisional"] is True


def test_a_referral_deadline_reaching_into_a_year_without_official_data_is_shown(referrals, clock, register_named):
    clock.set("2026-12-28")
    referral = referrals.create(on="2026-12-28")
    sent = referrals.step(referral["id"], "send", referrals.bureau, on="2026-12-28")
    assert sent["deadline"]["due_on"] == "2027-01-04"
    assert sent["deadline"]["provisional"] is True
    assert sent["overdue"] is False

"""GET and PUT /v1/calendar/years: covered years, loading and correcting a year as an administrator."""

import json

import pytest
from sqlalchemy import text

NEW_YEAR = ("2027-01-01", "holiday", "元旦")


def audit(engine, action):
    with engine.connect() as conn:
        return [(p, o, json.loads(s)) for p, o, s in conn.execute(
            text("SELECT principal, object, summary FROM audit_log WHERE action = :a ORDER BY id"), {"a": action})]


def test_the_bundled_years_are_listed_with_their_source(api, make_key, clock):
    clock.set("2026-12-03")
    listed = api.get("/v1/calendar/years", headers=make_key("partner", "150428", "health"))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [y["year"] for y in body["items"]] == list(range(2004, 2027))
    assert {y["source"] for y in body["items"]} == {"bundled"} and body["covered_through"] == 2026
    y2025 = next(y for y in body["items"] if y["year"] == 2025)
    assert (y2025["notice"], y2025["holidays"], y2025["workdays"], y2025["revision"]) == ("国办发明电〔2024〕12号", 28, 5, 1)
    assert y2025["days"] is None  # the days only on one year
    one = api.get("/v1/calendar/years/2025", headers=make_key("checker", "150000")).json()
    assert {"date": "2025-01-26", "kind": "workday", "name": "春节"} in one["days"]
    clock.set("2027-01-04")
    assert api.get("/v1/calendar/years", headers=make_key("bureau")).json()["covered_through"] is None
    missing = api.get("/v1/calendar/years/2027", headers=make_key("bureau"))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_an_administrator_loads_a_year_and_it_is_audited(admin_calendar, api, engine, clock):
    clock.set("2026-12-03")
    first = admin_calendar.put(2027, {"notice": "国办发明电〔2026〕X号", "days": [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-02-06", "kind": "workday", "name": "春节"}]})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["year"], body["source"], body["revision"], body["changed"]) == (2027, "api", 1, True)
    assert (body["holidays"], body["workdays"]) == (1, 1) and body["loaded_by"].startswith("client:")
    assert body["recomputed"] == {"proposals": 0, "appeals": 0, "confirmed_before_deadline": []}
    listed = api.get("/v1/calendar/years", headers=admin_calendar.headers).json()
    assert listed["items"][-1]["year"] == 2027 and listed["covered_through"] == 2027
    [(principal, obj, summary)] = audit(engine, "calendar.loaded")
    assert principal == body["loaded_by"].split()[0] and obj == "calendar_year:2027"
    assert summary["sha256"] == body["sha256"] and summary["holidays"] == 1

    again = admin_calendar.put(2027, {"notice": "国办发明电〔2026〕X号", "days": [
        {"date": "2027-02-06", "kind": "workday", "name": "春节"},
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]})  # the same days, another order
    assert again.status_code == 200 and again.json()["changed"] is False and again.json()["revision"] == 1
    assert audit(engine, "calendar.corrected") == []


def test_a_correction_is_a_new_revision_recording_who_and_what(admin_calendar, engine, make_key, api):
    admin_calendar.load(2027, [NEW_YEAR, ("2027-01-02", "holiday", "元旦")])
    other_admin = make_key("admin", "100000", name="国家医保局-张")
    corrected = api.put("/v1/calendar/years/2027", headers=other_admin, json={"days": [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-01-02", "kind": "holiday", "name": "元旦节"},
        {"date": "2027-02-06", "kind": "workday", "name": "春节"}]})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["revision"] == 2 and "国家医保局-张" in corrected.json()["loaded_by"]
    [(_p, _o, summary)] = audit(engine, "calendar.corrected")
    assert summary["added"] == ["2027-02-06"] and summary["changed"] == ["2027-01-02"] and summary["removed"] == []
    assert summary["previous_sha256"] != summary["sha256"]


def test_a_year_as_toml_text(admin_calendar):
    toml = 'year = 2027\ndays = [\n  { date = 2027-01-01, kind = "holiday", name = "元旦" },\n]\n'
    response = admin_calendar.put(2027, {"toml": toml})
    assert response.status_code == 201, response.text
    assert response.json()["days"] == [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]


def problem(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(("day", "field"), [
    ({"date": "2028-01-01", "kind": "holiday", "name": "元旦"}, "body.days.1.date"),   # outside the year
    ({"date": "2027-01-05", "kind": "workday", "name": "元旦"}, "body.days.1.date"),   # a Tuesday
    ({"date": "2027-01-01", "kind": "holiday", "name": "元旦"}, "body.days.1.date"),   # twice
    ({"date": "2027-01-02", "kind": "rest", "name": "元旦"}, "body.days.1.kind"),      # unknown kind
    ({"date": "2027-01-02", "kind": "holiday", "name": ""}, "body.days.1.name"),
    ({"date": "20270102", "kind": "holiday", "name": "元旦"}, "body.days.1.date"),
])
def test_a_bad_day_is_named_and_nothing_is_stored(admin_calendar, api, day, field):
    body = {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}, day]}
    assert problem(admin_calendar.put(2027, body)) == [field]
    assert api.get("/v1/calendar/years/2027", headers=admin_calendar.headers).status_code == 404


def test_bad_toml_and_bad_shapes_are_named(admin_calendar):
    toml = 'year = 2028\ndays = [\n  { date = 2027-01-01, kind = "rest", name = "元旦" },\n]\n'
    assert problem(admin_calendar.put(2027, {"toml": toml})) == ["body.toml.days.0.kind"]
    toml = 'year = 2028\ndays = [\n  { date = 2027-01-01, kind = "holiday", name = "元旦" },\n]\n'
    assert problem(admin_calendar.put(2027, {"toml": toml})) == ["body.toml.year"]
    assert problem(admin_calendar.put(2027, {"toml": "days = ["})) == ["body.toml"]
    both = {"toml": toml, "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    assert problem(admin_calendar.put(2027, both)) == ["body"]
    assert problem(admin_calendar.put(2027, {"notice": "x"})) == ["body"]
    assert problem(admin_calendar.put(2027, {"toml": toml, "notice": "x"})) == ["body.notice"]
    assert problem(admin_calendar.put(2027, {"days": []})) == ["body.days"]
    assert problem(admin_calendar.put(1999, {"days": []})) == ["path.year", "body.days"]


@pytest.mark.parametrize("role", ["bureau", "partner", "checker"])
def test_only_an_administrator_loads_a_year(api, make_key, role):
    headers = make_key(role, "100000" if role != "partner" else "150428", "health" if role == "partner" else None)
    response = api.put("/v1/calendar/years/2027", headers=headers,
                       json={"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]})
    assert response.status_code == 403 and response.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/calendar/years/2027", headers=headers).status_code == 404

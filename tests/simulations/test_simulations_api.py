"""What-if simulations over HTTP on the hand-made ledger of conftest.py: the four cases a
what-if must get right (a lower suspension threshold, an identical draft, a violation type in another band, a bad
draft), and the guarantees around them (no ledger writes, scope, idempotency, formats)."""

from __future__ import annotations

import csv
import hashlib
import io

from sqlalchemy import text

from app.simulations import service as simulations
from tests.simulations.conftest import (
    INNER_MONGOLIA,
    LOWER_SUSPENSION,
    NATIONAL,
    A,
    B,
    C,
    D,
    E,
    G,
    by_code,
    edited,
)


def test_a_lower_suspension_threshold_suspends_exactly_the_people_at_7_and_8(ledger, simulate):
    simulation, report = simulate(LOWER_SUSPENSION)
    rows = by_code(report)
    # F's only entry was reversed, the outsider lives in Tianjin: neither is replayed.
    assert set(rows) == {A, B, C, D, E, G}
    assert {code for code, r in rows.items() if r["draft"]["outcome"] == "suspension"} == {A, B, D}
    assert {code for code, r in rows.items() if r["live"]["outcome"] == "suspension"} == {D}
    assert {code for code, r in rows.items() if r["change"] == "stricter"} == {A, B}
    assert {code for code, r in rows.items() if r["change"] != "unchanged"} == {A, B}

    # A reaches 7 on 20 December: one month from that day, so suspended on the 31st under the draft.
    a = rows[A]
    assert (a["live"]["points"], a["draft"]["points"]) == (7, 7)
    assert (a["live"]["status"], a["draft"]["status"]) == ("active", "suspended")
    assert a["draft"]["sanctions"] == [{"kind": "suspension", "starts_on": "2025-12-20", "last_day": "2026-01-19",
                                        "months": 1, "year_total": 7, "reregistration_from": None}]
    # B's month ran from 10 May: over by the 31st of December.
    assert rows[B]["draft"]["sanctions"][0]["starts_on"] == "2025-05-10"
    assert rows[B]["draft"]["status"] == "active"
    # D was suspended at 9 points; under the draft already at 8, on the first entry.
    assert rows[D]["live"]["sanctions"][0]["starts_on"] == "2025-09-01"
    assert rows[D]["draft"]["sanctions"][0]["starts_on"] == "2025-05-10"
    assert rows[D]["change"] == "unchanged" and rows[D]["terms_changed"] is True
    assert not any(rows[x]["terms_changed"] for x in (A, B, C, E, G))
    # G was terminated in 2024: under the draft the 2025 points call for a suspension, which the
    # termination outranks on every one of its days: no outcome of its own.
    assert rows[G]["live"]["status"] == rows[G]["draft"]["status"] == "terminated"
    assert rows[G]["draft"]["outcome"] == "none" and rows[G]["draft"]["points"] == 8

    summary = simulation["summary"]
    assert summary["as_of"] == "2025-12-31"
    assert summary["people_in_region"] == 7 and summary["people_scored"] == 6
    assert (summary["live"]["suspended"], summary["draft"]["suspended"]) == (1, 3)
    assert (summary["live"]["terminated"], summary["draft"]["terminated"]) == (1, 1)
    assert summary["changes"] == {"stricter": 2, "more_lenient": 0, "unchanged": 4, "terms_changed": 1,
                                  "points_up": 0, "points_down": 0}
    assert summary["draft"]["status_on_as_of"] == {"active": 3, "suspended": 1, "terminated": 2, "not_registered": 0}
    assert summary["live"]["status_on_as_of"] == {"active": 4, "suspended": 0, "terminated": 2, "not_registered": 0}
    # Bands of the year's points, the same bands on both sides here: A, B, D serious (6-8), ...
    live_bands = {b["band"]: b["people"] for b in summary["live"]["by_points"]}
    assert live_bands == {"light": 0, "heavier": 1, "serious": 3, "most_serious": 2}
    assert summary["unplaced"] == 0 and report["unplaced"] == []
    assert simulation["percent"] == 100 and simulation["people"] == 6
    assert simulation["draft"] == {"id": "inner-mongolia-2026", "name": "内蒙古自治区医保支付资格记分规则（示例）",
                                   "sha256": hashlib.sha256(LOWER_SUSPENSION.encode()).hexdigest()}


def test_a_draft_identical_to_the_ruleset_in_force_changes_nothing(ledger, simulate):
    simulation, report = simulate(INNER_MONGOLIA)
    summary = simulation["summary"]
    assert summary["entries_governed_by_draft"] == 9  # every 2025 entry that stands
    assert summary["entries_with_other_points"] == 0 and summary["unplaced"] == 0
    for row in report["practitioners"]:
        assert row["live"] == row["draft"], row["code"]
        assert row["change"] == "unchanged" and row["points_delta"] == 0
    for key in ("by_points", "warned", "suspended", "terminated", "status_on_as_of"):
        assert summary["live"][key] == summary["draft"][key], key
    assert summary["changes"]["unchanged"] == 6 and summary["changes"]["terms_changed"] == 0


def test_the_national_default_does_not_reach_a_province_with_its_own_rules(ledger, simulate):
    # A new national ruleset does not override Inner Mongolia's own: the draft governs nothing here.
    draft = edited(NATIONAL, ("suspension = 9\n", "suspension = 7\n"),
                   ("months_by_total = { 9 = 2, 10 = 4, 11 = 6 }",
                    "months_by_total = { 7 = 1, 8 = 1, 9 = 2, 10 = 4, 11 = 6 }"))
    simulation, report = simulate(draft)
    assert simulation["summary"]["entries_governed_by_draft"] == 0
    assert all(row["live"] == row["draft"] for row in report["practitioners"])


def test_a_violation_type_moved_to_another_band(ledger, scoring, simulate):
    im = {"ruleset": "inner-mongolia-2025"}
    explicit, heavy = scoring.register(im["ruleset"], code="D150428000011"), scoring.register(
        im["ruleset"], code="D150428000012")
    scoring.score(explicit, "I1", "2025-08-01", points=4, violation="SPLIT-CHARGING", **im)
    scoring.score(heavy, "J1", "2025-03-01", violation="SPLIT-CHARGING", tier="primary", **im)
    scoring.score(heavy, "J2", "2025-03-02", violation="UPCODING", tier="general", **im)
    # 分解项目收费 from heavier (3/4/5) to serious (6/7/8).
    draft = edited(INNER_MONGOLIA, ('code = "SPLIT-CHARGING"\nname = "分解项目收费"\nband = "heavier"',
                                    'code = "SPLIT-CHARGING"\nname = "分解项目收费"\nband = "serious"'))
    simulation, report = simulate(draft)
    rows = by_code(report)
    # C: general responsibility now takes the serious band's 6, plus 2: 8, still below 9.
    assert (rows[C]["live"]["points"], rows[C]["draft"]["points"]) == (5, 8)
    assert rows[C]["change"] == "unchanged" and rows[C]["points_delta"] == 3
    # J: 5 + 6 = 11 suspended today; 8 + 6 = 14 terminates under the draft, on 2 March.
    assert (rows[heavy]["live"]["outcome"], rows[heavy]["draft"]["outcome"]) == ("suspension", "termination")
    assert rows[heavy]["draft"]["terminated_on"] == "2025-03-02" and rows[heavy]["change"] == "stricter"
    # The explicit 4 points lie outside the serious band: they stand, and the entry is listed.
    assert rows[explicit]["draft"]["points"] == 4
    [unplaced] = report["unplaced"]
    assert unplaced["code"] == explicit and unplaced["reason"] == "points_outside_band"
    assert unplaced["recorded_points"] == 4 and unplaced["violation_type"] == "SPLIT-CHARGING"
    summary = simulation["summary"]
    assert summary["unplaced"] == 1 and summary["entries_with_other_points"] == 2
    assert summary["changes"]["points_up"] == 2 and summary["changes"]["stricter"] == 1
    assert (summary["live"]["terminated"], summary["draft"]["terminated"]) == (1, 2)


def test_a_bad_draft_is_refused_naming_the_field(ledger, api, scoring):
    bad = edited(INNER_MONGOLIA, ("suspension = 9\n", "suspension = 0\n"))
    unknown_band = edited(INNER_MONGOLIA, ('name = "重复收费"\nband = "heavier"', 'name = "重复收费"\nband = "grave"'))
    cases = [
        (bad, "body.draft.thresholds.suspension"),
        (unknown_band, "body.draft.violation_types.19.band"),
        ("id = [", "body.draft"),
    ]
    for draft, field in cases:
        response = api.post("/v1/rulesets/simulations", json={"draft": draft, "region": "150428", "year": 2025},
                            headers=scoring.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    # The field errors of the draft come with those of the rest of the request, and nothing is kept.
    response = api.post("/v1/rulesets/simulations", json={"draft": bad, "region": "150428", "year": 2027},
                        headers=scoring.headers)
    assert {e["field"] for e in response.json()["errors"]} == {"body.draft.thresholds.suspension", "body.year"}
    assert api.get("/v1/rulesets/simulations", headers=scoring.headers).json()["items"] == []


def test_nothing_is_written_to_the_ledger(ledger, simulate, engine):
    def snapshot():
        with engine.connect() as conn:
            return [conn.execute(text(sql)).all() for sql in (
                "SELECT id, seq, kind, points, hash FROM ledger ORDER BY id",
                "SELECT practitioner_id, timeline FROM standings ORDER BY practitioner_id",
                "SELECT count(*) FROM events", "SELECT count(*) FROM referrals")]

    before = snapshot()
    simulate(LOWER_SUSPENSION)
    assert snapshot() == before


def test_progress_is_recorded_as_the_replay_goes(ledger, api, scoring, monkeypatch, engine):
    from app.simulations import replay

    response = api.post("/v1/rulesets/simulations", json={"draft": LOWER_SUSPENSION, "region": "150428",
                                                           "year": 2025}, headers=scoring.headers)
    simulation_id = response.json()["id"]
    seen = []
    original = replay.replay

    def watching(person, plan):
        with engine.connect() as conn:
            seen.append(conn.execute(text(f"SELECT state, percent FROM ruleset_simulations "
                                          f"WHERE id = {simulation_id}")).one())
        return original(person, plan)

    monkeypatch.setattr(simulations, "FLUSH_PEOPLE", 2)
    monkeypatch.setattr(replay, "replay", watching)
    simulations.run_next()
    # Seven people have an entry in 2025 (F's was reversed); a write every second person.
    assert [tuple(s) for s in seen] == [("running", 0), ("running", 0), ("running", 28), ("running", 28),
                                       ("running", 57), ("running", 57), ("running", 85)]
    done = api.get(f"/v1/rulesets/simulations/{simulation_id}", headers=scoring.headers).json()
    assert (done["state"], done["percent"]) == ("done", 100)


def test_others_simulations_are_not_found_and_a_bureau_simulates_only_its_region(ledger, api, make_key, simulate):
    mine = make_key("bureau", "150400")  # 赤峰市: covers 150428
    simulation, _report = simulate(LOWER_SUSPENSION, headers=mine)
    colleague = make_key("bureau", "150400")
    for link in simulation["links"].values():
        assert api.get(link, headers=colleague).status_code == 404, link
    assert api.get("/v1/rulesets/simulations", headers=colleague).json()["items"] == []
    listed = api.get("/v1/rulesets/simulations", headers=mine).json()["items"]
    assert [s["id"] for s in listed] == [simulation["id"]]
    outside = api.post("/v1/rulesets/simulations", json={"draft": LOWER_SUSPENSION, "region": "150000", "year": 2025},
                       headers=mine)
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "body.region"
    # A draft for Tianjin has nothing to say about Inner Mongolia.
    tianjin = edited(INNER_MONGOLIA, ('jurisdiction = "150000"', 'jurisdiction = "120000"'))
    elsewhere = api.post("/v1/rulesets/simulations", json={"draft": tianjin, "region": "150428", "year": 2025},
                         headers=mine)
    assert [e["field"] for e in elsewhere.json()["errors"]] == ["body.draft.jurisdiction"]


def test_an_admin_may_simulate_but_reads_codes_masked(ledger, make_key, simulate, api):
    admin = make_key("admin", "100000")
    simulation, report = simulate(LOWER_SUSPENSION, headers=admin)
    codes = {row["code"] for row in report["practitioners"]}
    assert codes == {c[:7] + "****" + c[-2:] for c in (A, B, C, D, E, G)}
    page = api.get(simulation["links"]["csv"], headers=admin).text
    assert A not in page and A[:7] + "****01" in page
    assert simulation["summary"]["changes"]["stricter"] == 2


def test_a_repeated_request_queues_one_simulation(ledger, api, scoring):
    body = {"draft": LOWER_SUSPENSION, "region": "150428", "year": 2025}
    headers = {**scoring.headers, "Idempotency-Key": "sim-2025-draft-1"}
    first = api.post("/v1/rulesets/simulations", json=body, headers=headers)
    again = api.post("/v1/rulesets/simulations", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    other = api.post("/v1/rulesets/simulations", json={**body, "year": 2024}, headers=headers)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert len(api.get("/v1/rulesets/simulations", headers=scoring.headers).json()["items"]) == 1
    assert simulations.run_next() == 1 and simulations.run_next() == 0


def test_the_report_waits_for_the_run_and_comes_as_csv_and_html(ledger, api, scoring):
    response = api.post("/v1/rulesets/simulations", json={"draft": LOWER_SUSPENSION, "region": "150428",
                                                           "year": 2025}, headers=scoring.headers)
    links = response.json()["links"]
    early = api.get(links["json"], headers=scoring.headers)
    assert early.status_code == 409 and early.json()["state"] == "queued"
    assert "排队中（0%）" in api.get(links["html"], headers=scoring.headers).text
    simulations.run_next()

    people = api.get(links["csv"], headers=scoring.headers)
    assert people.headers["content-type"].startswith("text/csv")
    assert people.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(people.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["序号", "人员编码", "所在地区", "现行年度记分", "草案年度记分"]
    rows = {r[1]: r for r in table[1:]}
    assert set(rows) == {A, B, C, D, E, G}
    assert rows[A][2] == "喀喇沁旗" and rows[A][6:8] == ["正常", "暂停"] and rows[A][10] == "从严"
    assert rows[B][9] == "暂停医保支付资格 2025-05-10 至 2025-06-09" and rows[B][8] == "无"
    assert rows[D][10] == "不变（处理期限变化）" and rows[C][10] == "不变"

    unplaced = api.get(links["unplaced_csv"], headers=scoring.headers)
    assert unplaced.content.decode("utf-8-sig").splitlines() == [
        "序号,记录编号,类型,人员编码,生效日期,案件编号,违规类型,责任,原记分,原因,说明"]

    page = api.get(links["html"], headers=scoring.headers)
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "记分规则草案模拟测算" in html and "暂停医保支付资格" in html
    assert A in html and B in html and C not in html  # the people whose outcome changes


def test_no_people_in_the_year_is_a_done_empty_report(api, scoring, simulate, clock):
    clock.set("2026-02-01")
    scoring.register("inner-mongolia-2025", code=A)
    simulation, report = simulate(LOWER_SUSPENSION)
    assert simulation["summary"]["people_in_region"] == 1 and simulation["summary"]["people_scored"] == 0
    assert report["practitioners"] == [] and report["unplaced"] == []

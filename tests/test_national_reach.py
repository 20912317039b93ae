"""One ledger for the country: a practitioner registered in Karaqin (150428) who also works at a
Fushun hospital (210400) is scored by Fushun, checked from Tianjin, followed on their dossier at
home, and notified to the partner departments of both regions."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.conftest import practitioner_body

CODE, FUSHUN_HOSPITAL = "D150428000123", "H21040000003"


def events(engine, type_: str) -> list[tuple[str, str | None, dict]]:
    with engine.connect() as conn:
        return [(r, a, json.loads(p)) for r, a, p in conn.execute(
            text("SELECT region, also_region, payload FROM events WHERE type = :t ORDER BY id"), {"t": type_})]


def test_scored_where_the_act_happened_checked_from_anywhere_followed_at_home(api, make_key, engine):
    karaqin, fushun = make_key("bureau", "150428"), make_key("bureau", "210400")
    # Fushun keeps its institution; Karaqin registers the person working there too.
    assert api.put(f"/v1/institutions/{FUSHUN_HOSPITAL}", json={"name": "抚顺市第三医院"},
                   headers=fushun).status_code == 201
    body = practitioner_body(institutions=[{"code": "H15042800001", "name": "喀喇沁旗医院"},
                                           {"code": FUSHUN_HOSPITAL}], registered_on="2020-01-01")
    assert api.put(f"/v1/practitioners/{CODE}", json=body, headers=karaqin).status_code == 201

    case = api.post("/v1/score-cases", headers=fushun, json={
        "case_ref": "FS-2025-7", "basis": "administrative_penalty", "decision_number": "抚医保罚〔2025〕7号",
        "decision_date": "2025-06-02", "institution": FUSHUN_HOSPITAL,
        "entries": [{"practitioner": CODE, "violation_type": "UPCODING", "points": 9}]})
    assert case.status_code == 201, case.text
    answer = case.json()
    assert answer["ruleset"] == "national-2024"  # where the act happened (Liaoning has none of its own)
    assert [s["kind"] for s in answer["outcomes"][0]["sanctions_created"]] == ["suspension"]

    # Any settlement system, here Tianjin's, sees the suspension.
    tianjin = make_key("checker", "120000")
    standing = api.get(f"/v1/practitioners/{CODE}/standing", params={"at": "2025-06-03"}, headers=tianjin).json()
    assert (standing["status"], standing["billing_allowed"]) == ("suspended", False)
    # The home bureau follows it on the dossier; Fushun reads no dossier of someone not its own.
    dossier = api.get(f"/v1/practitioners/{CODE}/dossier", headers=karaqin).json()
    [entry] = [r for r in dossier["ledger"] if r["kind"] == "entry"]
    assert (entry["case_ref"], entry["institution"]) == ("FS-2025-7", FUSHUN_HOSPITAL)
    assert api.get(f"/v1/practitioners/{CODE}/dossier", headers=fushun).status_code == 404

    # The events reach the subscribers of both regions; the partners of both are notified.
    [(region, also, _data)] = events(engine, "score.recorded")
    assert (region, also) == ("150428", "210400")
    assert [(r, a) for r, a, _ in events(engine, "standing.changed")] == [("150428", "210400")]
    for region in ("150428", "210400"):
        notices = api.get("/v1/referrals", headers=make_key("partner", region, "health")).json()["items"]
        assert [(n["clue_category"], n["region"]) for n in notices] == [("joint_sanction", region)]

    # Fushun may reverse its own case's entry.
    reversal = api.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "复议撤销"}, headers=fushun)
    assert reversal.status_code == 201, reversal.text
    assert api.get(f"/v1/practitioners/{CODE}/standing", params={"at": "2025-06-03"},
                   headers=tianjin).json()["status"] == "active"


def test_only_a_bureau_where_they_live_or_work_may_score_them(api, make_key, register):
    register(CODE)  # works only in Karaqin
    fushun = make_key("bureau", "210400")
    api.put(f"/v1/institutions/{FUSHUN_HOSPITAL}", json={"name": "抚顺市第三医院"}, headers=fushun)
    response = api.post("/v1/score-cases", headers=fushun, json={
        "case_ref": "FS-1", "basis": "administrative_penalty", "decision_number": "抚医保罚〔2025〕1号",
        "decision_date": "2025-06-02", "institution": FUSHUN_HOSPITAL,
        "entries": [{"practitioner": CODE, "violation_type": "UPCODING", "points": 9}]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.entries.0.practitioner"]


def test_a_practitioners_registration_never_renames_another_regions_institution(api, make_key):
    tianjin = make_key("bureau", "120000")
    assert api.put("/v1/institutions/H12010100001", json={"name": "天津市第一医院"}, headers=tianjin).status_code == 201
    county = make_key("bureau", "150428")
    body = practitioner_body(institutions=[{"code": "H15042800001"}, {"code": "H12010100001", "name": "RENAMED-TJ"}])
    response = api.put(f"/v1/practitioners/{CODE}", json=body, headers=county)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.institutions.1.name"]
    assert api.get("/v1/institutions/H12010100001", headers=tianjin).json()["name"] == "天津市第一医院"
    # Naming it without a name links to it; an unregistered institution of another region is refused.
    body = practitioner_body(institutions=[{"code": "H15042800001"}, {"code": "H12010100001"}])
    assert api.put(f"/v1/practitioners/{CODE}", json=body, headers=county).status_code == 201
    body = practitioner_body(institutions=[{"code": "H15042800001"}, {"code": "H12010100009"}])
    response = api.put(f"/v1/practitioners/{CODE}", json=body, headers=county)
    assert [e["field"] for e in response.json()["errors"]] == ["body.institutions.1.code"]
    # Only Tianjin renames it.
    assert api.put("/v1/institutions/H12010100001", json={"name": "X"}, headers=county).status_code == 404


def test_referrals_name_only_registered_people_and_institutions_of_their_region(api, make_key, register):
    register(CODE)
    register("D120101000001", region="120101", id_number="120101197511200049",
             institutions=[{"code": "H12010100001"}], headers=make_key("bureau", "120000"))
    karaqin = make_key("bureau", "150428")
    body = {"recipient": "health", "region": "150428", "clue_category": "licence_renting", "summary": "挂证线索",
            "institutions": ["H15042800001", "H15042800099"], "practitioners": [CODE, "D120101000001", "D150428000999"]}
    response = api.post("/v1/referrals", json=body, headers=karaqin)
    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "body.institutions.1", "body.practitioners.1", "body.practitioners.2"]

"""The audit trail: who changed what, through which request; append-only; scoped when read."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import select

from app.audit.models import AuditRecord
from app.auth.models import ApiClient
from app.cli import main
from app.dueprocess import service as dueprocess
from app.kit.db import read_session
from app.main import app as the_app
from tests.auth.test_matrix import HOME, RULES, route_table, send_call, world  # noqa: F401 (world: the matrix's fixture)
from tests.shared_fixtures import violation_with

# POSTs that only read: they change nothing, so they leave no record.
READ_ONLY_POSTS = {("POST", "/v1/standings/query")}
# The workbench's forms act for signed-in people, not keys: tests/workbench/test_audited.py.
WRITES = sorted(
    (method, path) for method, path in route_table(the_app)
    if method in {"POST", "PUT", "PATCH", "DELETE"} and (method, path) not in READ_ONLY_POSTS
    and not path.startswith("/workbench/")
)


def records(**where) -> list[AuditRecord]:
    with read_session() as session:
        query = select(AuditRecord).order_by(AuditRecord.id)
        for name, value in where.items():
            query = query.where(getattr(AuditRecord, name) == value)
        return list(session.exec(query))


def client_id(name: str) -> int:
    with read_session() as session:
        return session.exec(select(ApiClient.id).where(ApiClient.name == name)).one()


@pytest.mark.parametrize("route", WRITES, ids=lambda r: f"{r[0]} {r[1]}")
def test_every_write_route_leaves_a_record_naming_the_caller_and_the_request(world, api, route):
    rule = RULES[route]
    role = "bureau" if "bureau" in rule.roles else sorted(rule.roles)[0]
    headers = world.inside(role)
    call = rule.make(world, role, headers)
    request_id = f"req-{route[0]}-{len(route[1])}"
    response = send_call(api, call, {**headers, "X-Request-ID": request_id})
    assert response.status_code < 300, response.text
    assert response.headers["X-Request-ID"] == request_id
    mine = records(request_id=request_id)
    assert mine, f"{route} changed something without an audit record"
    assert {(r.role, r.actor_region, r.principal.split(":")[0]) for r in mine} == {(role, world_region(role), "client")}


def world_region(role: str) -> str:
    return "100000" if role == "admin" else HOME


def test_a_score_case_is_recorded_once_with_what_it_counted(scoring, api):
    code = scoring.register()
    body = scoring.case_body("A1", [{"practitioner": code, "violation_type": "SPLIT-CHARGING", "tier": "general"}])
    first = api.post("/v1/score-cases", json=body, headers={**scoring.headers, "X-Request-ID": "case-a1"})
    assert first.status_code == 201
    again = api.post("/v1/score-cases", json=body, headers=scoring.headers)
    assert again.status_code == 200  # a repeat changes nothing: no second record
    [row] = records(action="score_case.create")
    assert row.object == f"score_case:{first.json()['id']}" and row.request_id == "case-a1"
    assert row.region == first.json()["region"] and row.actor_name == "bureau 100000"
    summary = json.loads(row.summary)
    assert summary["case_ref"] == "A1"
    assert summary["entries"] == [{"practitioner": code, "violation_type": "SPLIT-CHARGING",
                                   "points": first.json()["entries"][0]["points"]}]


def test_a_refused_request_leaves_no_record(scoring, api):
    code = scoring.register()
    bad = scoring.case_body("B1", [{"practitioner": code, "violation_type": "NO-SUCH-TYPE", "tier": "general"}])
    assert api.post("/v1/score-cases", json=bad, headers=scoring.headers).status_code == 422
    assert records(action="score_case.create") == []


def test_an_id_search_is_recorded_by_whom_it_found_never_by_the_number(api, register, bureau):
    register("D150428000123", id_number="150428198001010014")
    assert api.post("/v1/practitioners/search", json={"id_number": "150428198001010014"}, headers=bureau).json()
    assert api.post("/v1/practitioners/search", json={"id_number": "110101199003070038"}, headers=bureau).json() == []
    found, missed = records(action="practitioner.id_search")
    assert found.object == "practitioner:D150428000123" and json.loads(found.summary) == {"matches": 1}
    assert missed.object == "practitioner:none" and json.loads(missed.summary) == {"matches": 0}
    with read_session() as session:
        dump = " ".join(str(v) for row in session.exec(select(AuditRecord)) for v in row.model_dump().values())
    assert "150428198001010014" not in dump and "110101199003070038" not in dump


def test_the_trail_is_read_by_admins_whole_and_by_bureaus_for_their_region(api, make_key, register):
    inner_mongolia = make_key("bureau", "150000", name="内蒙古医保局")
    tianjin = make_key("bureau", "120000", name="天津医保局")
    register("D150428000123", headers=inner_mongolia)
    register("D120101000001", headers=tianjin, region="120101", id_number="120101197511200049",
             institutions=[{"code": "H12010100001"}])
    def objects(headers, **params):
        answer = api.get("/v1/audit", params=params, headers=headers).json()["items"]
        return [r["object"] for r in answer if r["object"].startswith("practitioner:")]

    assert objects(inner_mongolia) == ["practitioner:D150428000123"]
    assert objects(tianjin) == ["practitioner:D120101000001"]
    admin = make_key("admin", "100000")
    # An admin holds no personal data: codes masked, as in every other admin read.
    assert objects(admin) == ["practitioner:D150428****23", "practitioner:D120101****01"]
    assert objects(admin, client=str(client_id("天津医保局"))) == ["practitioner:D120101****01"]
    assert objects(admin, object="practitioner:D150428000123") == ["practitioner:D150428****23"]
    assert objects(admin, since="2999-01-01T00:00:00Z") == []
    assert api.get("/v1/audit", headers=make_key("checker", "100000")).status_code == 403


def test_pages_follow_the_cursor(api, make_key, register):
    bureau = make_key("bureau", "150000")
    for n in range(5):
        register(f"D15042800010{n}", headers=bureau)
    seen, cursor = [], None
    while True:
        page = api.get("/v1/audit", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                       headers=bureau).json()
        seen += [r["object"] for r in page["items"] if r["action"] == "practitioner.register"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"practitioner:D15042800010{n}" for n in range(5)]
    assert api.get("/v1/audit", params={"cursor": "x"}, headers=bureau).status_code == 422


def test_records_cannot_be_rewritten(register, engine):
    register()
    with pytest.raises(DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor_name = 'someone else'"))
    assert records(action="practitioner.register")[0].actor_name == "bureau 150000"


def test_work_the_service_does_itself_is_recorded_as_system(scoring, clock, capsys):
    code = scoring.register()
    clock.set("2025-01-24")
    item = {"practitioner": code, "violation_type": violation_with(2, "national-2024"), "points": 2}
    notified = scoring.post("p1", [item], day="2025-01-24", procedure="notify")
    assert notified.status_code == 201, notified.text
    proposal_id = notified.json()["entries"][0]["proposal_id"]
    clock.set("2025-03-31")
    assert dueprocess.close_windows() == 1
    [row] = records(action="score.confirmed")
    assert (row.principal, row.actor_name, row.object) == ("system:0", "service", f"practitioner:{code}")
    assert json.loads(row.summary)["automatically"] is True and json.loads(row.summary)["proposal_id"] == proposal_id

    assert main(["clients", "create", "--role", "checker", "--region", "150400", "--name", "结算系统"]) == 0
    [created] = [r for r in records(action="api_client.create") if r.actor_name.startswith("cli:")]
    assert created.principal == "system:0"
    key = capsys.readouterr().out.strip()
    summary = json.loads(created.summary)
    assert summary["role"] == "checker" and key.startswith(summary["key_prefix"]) and key not in created.summary


def test_an_admin_reads_codes_masked_inside_summaries_too(api, make_key, scoring):
    code = scoring.register()
    scoring.score(code, "audited", "2025-03-01", points=3, violation="RECORDS-MISSING")
    admin = make_key("admin", "100000")
    [record] = [r for r in api.get("/v1/audit", headers=admin).json()["items"] if r["action"] == "score_case.create"]
    assert record["summary"]["entries"][0]["practitioner"] == code[:7] + "****" + code[-2:]
    assert code not in json.dumps(record)
    bureau_view = [r for r in api.get("/v1/audit", headers=scoring.headers).json()["items"]
                   if r["action"] == "score_case.create"]
    assert bureau_view[0]["summary"]["entries"][0]["practitioner"] == code  # the bureau holds the data

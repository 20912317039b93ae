"""The OpenAPI document as a contract a client can be generated from: readable operationIds,
described tags, examples that validate, typed answers, the headers the service really sends, and
the webhooks it really delivers. (tests/test_openapi.py: the error answers; tests/test_client.py:
a generated client driving the main flows.)"""

from __future__ import annotations

import json
import re

import pytest

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def document(app):
    return app.openapi()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_operation_ids_are_unique_snake_case_and_name_no_path(document):
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for path, method, operation in operations(document):
        name = operation["operationId"]
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name), name
        # FastAPI's default ids end with the path and the method: get_standing_v1_practitioners__code__standing_get
        flattened = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
        assert "_" not in flattened or flattened not in name, name  # a one-word path (/metrics) may be a word
        assert "v1" not in name.split("_"), name
        assert not name.endswith(f"_{method}"), name
        assert len(name) <= 30, name


def test_the_main_flows_keep_their_operation_ids(document):
    """What a generated client calls its functions: renaming one breaks every client."""
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    assert {"put_practitioner", "create_score_case", "get_standing", "query_standings", "get_notice",
            "list_notices", "publish_notice", "create_referral", "create_referral_event", "submit_defence",
            "confirm_score_proposal", "create_webhook_endpoint", "create_simulation"} <= ids


def test_every_tag_is_described(document):
    described = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    used = {tag for _, _, operation in operations(document) for tag in operation.get("tags", ())}
    assert used == set(described)
    assert all(len(text) > 20 for text in described.values()), described


def _typed(schema: dict) -> bool:
    """A schema a client can build a type from: a model, a list of typed things, or a scalar."""
    if "$ref" in schema:
        return True
    if "anyOf" in schema or "oneOf" in schema:
        options = [s for s in schema.get("anyOf", schema.get("oneOf")) if s.get("type") != "null"]
        return bool(options) and all(_typed(s) for s in options)
    if schema.get("type") == "array":
        return _typed(schema.get("items", {}))
    if schema.get("type") == "object" or "additionalProperties" in schema:
        return bool(schema.get("properties"))
    return schema.get("type") in {"string", "integer", "number", "boolean"}


def test_every_success_answer_is_typed(document):
    untyped = []
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            content = response.get("content") or {}
            if not content and status != "204":
                untyped.append(f"{method} {path} {status}: no content declared")
            for media_type, body in content.items():
                schema = body.get("schema") or {}
                if media_type == "application/json" and not _typed(schema):
                    untyped.append(f"{method} {path} {status} {media_type}: {schema}")
                if media_type.startswith("text/") and schema.get("type") != "string":
                    untyped.append(f"{method} {path} {status} {media_type}: not a string")
    assert untyped == []


def test_downloads_declare_their_media_types_so_clients_do_not_parse_them_as_json(document):
    def media_types(path, method="get"):
        return list(document["paths"][path][method]["responses"]["200"]["content"])

    assert media_types("/v1/notices/{notice_id}/csv") == ["text/csv"]  # a client reads .text, never .json()
    assert set(media_types("/v1/notices/{notice_id}")) == {"application/json", "text/csv"}
    assert set(media_types("/v1/rulesets/simulations/{simulation_id}/report")) == {
        "application/json", "text/csv", "text/html"}
    assert media_types("/metrics") == ["text/plain"]


# ---------------------------------------------------------------- headers: sent means declared
HEADERS = ("X-Request-ID", "Idempotent-Replayed", "Location", "X-Notice-SHA256", "Retry-After")


def assert_headers_declared(document, method: str, template: str, response) -> None:
    declared = document["paths"][template][method]["responses"][str(response.status_code)].get("headers", {})
    sent = {name for name in HEADERS if name in response.headers}
    assert sent <= set(declared), f"{method} {template} {response.status_code}: undeclared {sent - set(declared)}"
    required = {name.lower() for name, header in declared.items() if header.get("required")}
    assert required <= set(response.headers.keys()), (
        f"{method} {template} {response.status_code}: declared required, not sent: {required}")


def test_the_headers_the_live_app_sends_are_declared(document, api, bureau, register, clock):
    from app.scoring.rulesets import BUNDLED_DIR
    from tests.shared_fixtures import violation_with

    clock.set("2025-07-01")
    code = "D150428000123"
    register(code)
    case = {"case_ref": "C-1", "basis": "agreement_handling", "decision_number": "喀医保〔2025〕1号",
            "decision_date": "2025-06-02", "institution": "H15042800001",
            "entries": [{"practitioner": code, "violation_type": violation_with(3, "inner-mongolia-2025"),
                         "points": 3}]}
    once = {**bureau, "Idempotency-Key": "case-1"}
    first, repeat = (api.post("/v1/score-cases", json=case, headers=once) for _ in range(2))
    assert (first.status_code, repeat.status_code, repeat.headers["Idempotent-Replayed"]) == (201, 200, "true")
    checks = [("post", "/v1/score-cases", first), ("post", "/v1/score-cases", repeat),
              ("get", "/v1/practitioners/{code}/standing", api.get(f"/v1/practitioners/{code}/standing", headers=bureau)),
              ("get", "/v1/practitioners/{code}/standing", api.get("/v1/practitioners/D150428000999/standing",
                                                                  headers=bureau)),  # 404
              ("get", "/v1/practitioners", api.get("/v1/practitioners", params={"limit": 0}, headers=bureau))]  # 422
    draft = {"draft": (BUNDLED_DIR / "inner-mongolia-2025.toml").read_text(encoding="utf-8"), "region": "150428",
             "year": 2025}
    for _ in range(2):  # 202 with Location, then 200 replayed
        response = api.post("/v1/rulesets/simulations", json=draft, headers={**bureau, "Idempotency-Key": "sim-1"})
        checks.append(("post", "/v1/rulesets/simulations", response))
    assert [r.status_code for *_, r in checks[-2:]] == [202, 200] and "Location" in checks[-1][2].headers
    notice = api.post("/v1/notices", json={"region": "150428", "year": 2025}, headers=bureau)
    checks.append(("post", "/v1/notices", notice))
    notice_id = notice.json()["id"]
    for params in ({}, {"format": "json"}, {"format": "csv"}):
        checks.append(("get", "/v1/notices/{notice_id}", api.get(f"/v1/notices/{notice_id}", params=params)))
    checks.append(("get", "/v1/notices/{notice_id}/csv", api.get(f"/v1/notices/{notice_id}/csv")))
    assert "X-Notice-SHA256" in checks[-1][2].headers
    for method, template, response in checks:
        assert "X-Request-ID" in response.headers
        assert_headers_declared(document, method, template, response)


def test_every_answer_declares_the_request_id(document):
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (method, path, status)


# ---------------------------------------------------------------- request examples
def _body_schema(document, operation) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    ref = content["schema"].get("$ref", "")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else content["schema"]


def test_the_main_flows_have_request_examples(document):
    by_id = {operation["operationId"]: operation for _, _, operation in operations(document)}
    for name in ("put_practitioner", "create_score_case", "query_standings", "submit_defence",
                 "confirm_score_proposal", "withdraw_score_proposal", "file_appeal", "decide_appeal",
                 "create_referral", "create_referral_event", "create_webhook_endpoint", "create_simulation"):
        assert _body_schema(document, by_id[name]).get("examples"), f"{name}: no request example"


def test_every_declared_example_validates_against_its_request_model(app, document):
    import jsonschema_rs
    from fastapi.routing import APIRoute
    from pydantic import TypeAdapter

    from app.kit.routing import endpoint_routes

    routes = {(method.lower(), r.path): r for r in endpoint_routes(app.router.routes) if isinstance(r, APIRoute)
              for method in r.methods}
    checked = 0
    for path, method, operation in operations(document):
        schema = _body_schema(document, operation)
        if schema is None:
            continue
        content = operation["requestBody"]["content"]["application/json"]
        examples = [*schema.get("examples", ()), *(e["value"] for e in content.get("examples", {}).values())]
        model = TypeAdapter(routes[method, path].body_field.field_info.annotation)
        resolver = {**schema, "components": document["components"]}
        for example in examples:
            model.validate_python(example)  # raises, naming the field, when it does not
            jsonschema_rs.Draft202012Validator(resolver).validate(example)
            checked += 1
    assert checked >= 14


# ---------------------------------------------------------------- webhooks
# Written to the events outbox for the dossier and the audit, but no endpoint may subscribe to them
# (not in EVENT_TYPES): never delivered, so not declared. A new event type must land here or in
# EVENT_TYPES (and then in app/webhooks/payloads.py).
OUTBOX_ONLY = {"score.proposed", "score.defence_submitted", "score.confirmed", "score.withdrawn", "score.appealed",
               "score.appeal_decided", "score.statement_added", "score.defence_deadline_recomputed",
               "score.appeal_deadline_recomputed"}


def _emitted_in_code() -> set[str]:
    """Every event type the code writes: the string given to emit()/_emit(), a ``{"type": …, "subject": …}``
    given to emit_many(), or a module constant given to emit()."""
    import ast
    from pathlib import Path

    from app.webhooks import rules

    constants = {"OPERATIONAL": rules.OPERATIONAL}
    found = set()
    for path in Path("app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("emit", "_emit"):
                for arg in node.args[:3]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and re.fullmatch(r"[a-z]+\.[a-z_]+", arg.value):
                        found.add(arg.value)
                    elif isinstance(arg, ast.Attribute) and arg.attr in constants:
                        found.add(constants[arg.attr])
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if "type" in keys and "subject" in keys:
                    value = node.values[keys.index("type")]
                    if isinstance(value, ast.Constant):
                        found.add(value.value)
    return found


def test_the_declared_webhooks_are_the_event_types_the_code_can_deliver(document):
    from app.shared.events import EVENT_TYPES

    declared = set(document["webhooks"])
    assert declared == set(EVENT_TYPES)  # what an endpoint may subscribe to
    emitted = _emitted_in_code()
    assert declared <= emitted, f"declared but never emitted: {declared - emitted}"
    assert emitted - declared == OUTBOX_ONLY


def test_each_webhook_declares_its_payload_and_the_signature_headers(document):
    for event_type, item in document["webhooks"].items():
        operation = item["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}, event_type
        schema = _body_schema(document, operation)
        assert schema["properties"]["type"]["const"] == event_type
        assert {"type", "timestamp", "data"} <= set(schema["required"])


def test_delivered_messages_match_their_declared_schema(document, api, bureau, register, clock, engine):
    import jsonschema_rs
    from sqlmodel import Session, select

    from app.shared.events import Event
    from app.webhooks.delivery import body_of
    from tests.referrals.conftest import referral_body
    from tests.shared_fixtures import violation_with

    clock.set("2025-07-01")
    register("D150428000123")
    entry = {"practitioner": "D150428000123", "violation_type": violation_with(12, "inner-mongolia-2025"), "points": 12}
    assert api.post("/v1/score-cases", headers=bureau, json={
        "case_ref": "C-9", "basis": "agreement_handling", "decision_number": "喀医保〔2025〕9号",
        "decision_date": "2025-06-02", "institution": "H15042800001", "entries": [entry]}).status_code == 201
    referral = api.post("/v1/referrals", json=referral_body(), headers=bureau).json()
    assert api.post(f"/v1/referrals/{referral['id']}/events", json={"type": "send"}, headers=bureau).status_code == 201
    assert api.post("/v1/notices", json={"region": "150428", "year": 2025}, headers=bureau).status_code == 201
    with Session(engine) as session:
        events = session.exec(select(Event)).all()
    seen = set()
    for event in events:
        if event.type not in document["webhooks"]:
            continue
        schema = {**_body_schema(document, document["webhooks"][event.type]["post"]), "components": document["components"]}
        jsonschema_rs.Draft202012Validator(schema).validate(json.loads(body_of(event)))
        seen.add(event.type)
    assert {"score.recorded", "standing.changed", "referral.created", "referral.status_changed",
            "notice.published"} <= seen

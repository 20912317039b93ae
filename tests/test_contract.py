"""The OpenAPI document as a contract a client can be generated from: readable operationIds,
described tags, examples that validate, typed answers, the headers the service really sends, and
the webhooks it really delivers. (tests/test_openapi.py: the error answers; tests/test_client.py:
a generated client driving the main flows.)"""

from __future__ import annotations

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

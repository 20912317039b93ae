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

"""Request ids, JSON logs that never carry a key or an ID number, and the service's metrics."""

from __future__ import annotations

import io
import json
import re

import pytest

from app.kit import observability
from app.kit.observability import accepted_request_id, redact
from tests.shared_fixtures import violation_with


@pytest.fixture
def log_lines():
    """The JSON lines the service writes while the test runs."""
    stream = io.StringIO()
    observability.configure_logging("INFO", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    observability.configure_logging("INFO")


def test_a_sane_request_id_is_kept_anything_else_replaced():
    assert accepted_request_id("abc-123.X:9_z") == "abc-123.X:9_z"
    for bad in (None, "", "has space", "x" * 65, "换行\n"):
        made = accepted_request_id(bad)
        assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_the_request_id_is_echoed_or_made(api):
    assert api.get("/healthz", headers={"X-Request-ID": "bureau-42"}).headers["X-Request-ID"] == "bureau-42"
    first, second = (api.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second and len(first) == 32


def test_one_json_line_per_request_with_route_principal_and_id(api, register, bureau, log_lines):
    register("D150428000123")
    api.get("/v1/practitioners/D150428000123", headers={**bureau, "X-Request-ID": "look-1"})
    [line] = [entry for entry in log_lines() if entry.get("request_id") == "look-1"]
    assert line["message"] == "request" and line["logger"] == "app.request"
    assert line["route"] == "/v1/practitioners/{code}" and line["status"] == 200 and line["method"] == "GET"
    assert line["principal"].startswith("client:") and line["duration_ms"] >= 0


def test_logs_never_hold_a_key_or_an_id_number(api, register, bureau, log_lines):
    register("D150428000123", id_number="150428198001010014")
    api.post("/v1/practitioners/search", json={"id_number": "150428198001010014"}, headers=bureau)
    api.get("/v1/practitioners", headers={"Authorization": "Bearer pck_not_a_real_key_at_all"})
    # Even a careless message is masked.
    observability.request_log.warning("lookup of 150428198001010014 with %s", bureau["Authorization"])
    text = "\n".join(json.dumps(entry, ensure_ascii=False) for entry in log_lines())
    key = bureau["Authorization"].removeprefix("Bearer ")
    assert "150428198001010014" not in text and key not in text and "pck_not_a_real_key" not in text
    assert "[ID number]" in text and "pck_***" in text


def test_redaction_leaves_codes_and_dates_alone():
    assert redact("D150428000123 on 2025-06-02, case 20250602") == "D150428000123 on 2025-06-02, case 20250602"
    assert redact("id 11010519491231002X.") == "id [ID number]."
    assert redact("secret whsec_abc+/=") == "secret whsec_***"


def metric(api, name: str, **labels) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} " if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_sanctions_are_counted_when_committed(scoring, api):
    code = scoring.register(ruleset="inner-mongolia-2025")
    before = metric(api, "app_sanctions_created_total", kind="termination")
    scoring.score(code, "T1", "2025-06-02", points=12, ruleset="inner-mongolia-2025",
                  violation=violation_with(12, "inner-mongolia-2025"))
    assert metric(api, "app_sanctions_created_total", kind="termination") == before + 1


def test_outbox_backlog_and_latency_by_route_are_exposed(scoring, api):
    code = scoring.register()
    scoring.score(code, "M1", "2025-03-01")  # writes events nobody has fanned out yet
    assert metric(api, "app_database_up") == 1
    assert metric(api, "app_outbox_backlog", stage="fan_out") >= 1
    text = api.get("/metrics").text
    assert 'http_request_duration_seconds_count{handler="/v1/score-cases",method="POST"' in text

"""Each limit of docs/api/limits.md: body size, page size, batch size, string lengths, rate limits.

The values are read from the settings rather than written here, so the tests follow the
configuration; the rate-limit tests set a small limit for one role.
"""

from __future__ import annotations

import socket
import time

import pytest

from app.kit import ratelimit
from app.settings import get_settings
from tests.conftest import practitioner_body

settings = get_settings()


def _is_problem(response, status: int, type_: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == type_ and problem["status"] == status
    return problem


# --- request body size ---------------------------------------------------------------------------

def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(api, bureau):
    body = practitioner_body()
    body["institutions"] = [{"code": "H15042800001", "name": "x" * settings.max_body_bytes}]
    response = api.put("/v1/practitioners/D150428000123", json=body, headers=bureau)
    problem = _is_problem(response, 413, "payload-too-large")
    assert str(settings.max_body_bytes) in problem["detail"]
    assert api.get("/v1/practitioners/D150428000123", headers=bureau).status_code == 404


def test_a_streamed_body_without_length_is_counted_and_refused(api, bureau):
    def chunks():  # no Content-Length: the client sends it chunked
        yield b'{"name": "'
        for _ in range(settings.max_body_bytes // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    response = api.put("/v1/practitioners/D150428000123", content=chunks(),
                       headers={**bureau, "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _is_problem(response, 413, "payload-too-large")
    assert api.get("/v1/practitioners/D150428000123", headers=bureau).status_code == 404


def test_a_body_within_the_limit_passes(api, bureau):
    response = api.put("/v1/practitioners/D150428000123", json=practitioner_body(), headers=bureau)
    assert response.status_code == 201


@pytest.mark.parametrize("chunked", [False, True])
def test_a_path_with_a_larger_limit_is_held_to_that_limit(chunked):
    """The stream of cases has a limit of its own (APP_MAX_BULK_BODY_BYTES): over it, the same 413
    naming that limit, and the route never sees the body; other paths keep the common limit."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.kit.bodysize import BodySizeLimitMiddleware

    seen = []

    async def echo(request):
        seen.append(len(await request.body()))
        return PlainTextResponse("ok")

    app = BodySizeLimitMiddleware(Starlette(routes=[Route("/stream", echo, methods=["POST"]),
                                                    Route("/other", echo, methods=["POST"])]),
                                  max_bytes=1024, larger={"/stream": 4096})

    def body(size):
        return (b"x" * size for _ in [0]) if chunked else b"x" * size

    with TestClient(app) as client:
        assert client.post("/stream", content=body(3000)).status_code == 200
        over = client.post("/stream", content=body(5000))
        assert _is_problem(over, 413, "payload-too-large")["detail"].endswith("4096 bytes")
        other = client.post("/other", content=body(3000))
        assert _is_problem(other, 413, "payload-too-large")["detail"].endswith("1024 bytes")
    assert seen == [3000]


def test_the_refusal_comes_before_the_body_is_sent(live_server, bureau):
    """A declared length over the limit is answered at once: the server does not wait for the body."""
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall((
            "POST /v1/standings/query HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"{next(iter(bureau))}: {next(iter(bureau.values()))}\r\n"
            f"Content-Length: {settings.max_body_bytes * 100}\r\n\r\n"
        ).encode())
        started = time.monotonic()
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413"), head
    assert "application/problem+json" in head
    assert time.monotonic() - started < 5  # answered, not timed out waiting for 100 MB


# --- page size, batch size, string lengths -------------------------------------------------------

def test_page_size_is_capped(api, bureau):
    largest = settings.max_page_size
    assert api.get("/v1/practitioners", params={"limit": largest}, headers=bureau).status_code == 200
    response = api.get("/v1/practitioners", params={"limit": largest + 1}, headers=bureau)
    problem = _is_problem(response, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["query.limit"]


def test_standing_query_batch_size_is_capped(api, make_key):
    checker = make_key("checker", "150000")
    codes = [f"D150428{n:06d}" for n in range(settings.max_batch_size)]
    full = api.post("/v1/standings/query", json={"codes": codes}, headers=checker)
    assert full.status_code == 200 and len(full.json()["results"]) == settings.max_batch_size
    over = api.post("/v1/standings/query", json={"codes": [*codes, "D150428999999"]}, headers=checker)
    problem = _is_problem(over, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["body.codes"]


def test_score_case_entries_are_capped_by_the_batch_size(scoring):
    entry = {"practitioner": "D210402000001", "violation_type": "SPLIT-CHARGING", "tier": "general"}
    response = scoring.post("batch-1", [entry] * (settings.max_batch_size + 1))
    problem = _is_problem(response, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["body.entries"]


def test_reasons_are_capped(scoring):
    code = scoring.register()
    entry_id = scoring.score(code, "len-1", "2025-03-01")["id"]
    url = f"/v1/score-entries/{entry_id}/reversal"
    too_long = scoring.client.post(url, json={"reason": "理" * (settings.max_reason_length + 1)},
                                   headers=scoring.headers)
    problem = _is_problem(too_long, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["body.reason"]
    at_limit = scoring.client.post(url, json={"reason": "理" * settings.max_reason_length}, headers=scoring.headers)
    assert at_limit.status_code == 201, at_limit.text


def test_free_text_is_capped(api, make_key, register_named):
    partner = make_key("partner", "150428", "health")
    body = {"recipient": "bureau", "region": "150428", "clue_category": "licence_renting",
            "summary": "摘" * (settings.max_text_length + 1), "institutions": ["H15042800001"]}
    problem = _is_problem(api.post("/v1/referrals", json=body, headers=partner), 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["body.summary"]
    body["summary"] = "摘" * settings.max_text_length
    assert api.post("/v1/referrals", json=body, headers=partner).status_code == 201


# --- rate limits ---------------------------------------------------------------------------------

@pytest.fixture
def checker_limit(monkeypatch):
    """The checker role limited to three requests a minute per client, for one test."""
    monkeypatch.setitem(get_settings().rate_limits, "checker", "3/minute")
    ratelimit.reset()
    yield 3
    monkeypatch.undo()
    ratelimit.reset()


def test_a_client_over_its_rate_limit_gets_429_with_retry_after(api, make_key, checker_limit):
    checker = make_key("checker", "150000")
    url = "/v1/practitioners/D150428000123/standing"
    for _ in range(checker_limit):
        assert api.get(url, headers=checker).status_code == 404  # not registered: counted all the same
    refused = api.get(url, headers=checker)
    problem = _is_problem(refused, 429, "rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "3 per 1 minute" in problem["detail"]


def test_rate_limits_count_per_client_and_per_role(api, make_key, checker_limit):
    first, second = make_key("checker", "150000"), make_key("checker", "150000")
    bureau = make_key("bureau", "150000")
    url = "/v1/practitioners/D150428000123/standing"
    for _ in range(checker_limit):
        api.get(url, headers=first)
    assert api.get(url, headers=first).status_code == 429
    assert api.get(url, headers=second).status_code == 404  # another client: its own window
    assert api.get(url, headers=bureau).status_code == 404  # another role: its own limit


def test_a_role_left_out_of_the_settings_is_not_limited(api, make_key, monkeypatch):
    monkeypatch.delitem(get_settings().rate_limits, "checker")
    monkeypatch.setitem(get_settings().rate_limits, "bureau", "1/minute")
    ratelimit.reset()
    checker = make_key("checker", "150000")
    try:
        assert all(api.get("/v1/rulesets", headers=checker).status_code == 200 for _ in range(20))
    finally:
        monkeypatch.undo()
        ratelimit.reset()


def test_a_limit_allows_its_burst_then_one_request_per_interval():
    """GCRA for "3/minute": three at once, the fourth waits 20 s, and a client that keeps to one
    request per 20 s is never refused."""
    arrival, now = None, 1000.0
    for _ in range(3):
        arrival, wait = ratelimit.delay(arrival, now, 20.0, 60.0)
        assert wait == 0
    refused_arrival, wait = ratelimit.delay(arrival, now, 20.0, 60.0)
    assert (refused_arrival, wait) == (arrival, 20.0)  # refused: nothing counted
    assert ratelimit.delay(arrival, now + 19.9, 20.0, 60.0)[1] > 0
    for step in range(1, 10):
        arrival, wait = ratelimit.delay(arrival, now + 20.0 * step, 20.0, 60.0)
        assert wait == 0


def test_a_client_never_gets_more_than_burst_plus_rate_in_any_period():
    """Over any 60 s, a client hammering "3/minute" is allowed at most 3 + 3 requests (the burst
    and what refills meanwhile), and exactly one every 20 s once the burst is spent."""
    arrival, allowed = None, []
    for tenth in range(0, 3000):  # ten requests a second for five minutes
        now = tenth / 10
        arrival, wait = ratelimit.delay(arrival, now, 20.0, 60.0)
        if wait == 0:
            allowed.append(now)
    assert allowed[:4] == [0.0, 0.1, 0.2, 20.0]
    assert max(sum(1 for t in allowed if start <= t < start + 60) for start in allowed) <= 6
    gaps = [b - a for a, b in zip(allowed[3:], allowed[4:])]
    assert all(abs(g - 20.0) < 0.11 for g in gaps)


def test_rounding_never_refuses_a_request_the_limit_admits():
    assert ratelimit.delay(None, 1.2, 1.0, 1.0)[1] == 0  # "1/second": a new client's first request
    for now in (0.3, 1.2, 7924.610462065, 123456.789):
        arrival = None
        for _ in range(7):  # "7 per 3 seconds": the whole burst at once
            arrival, wait = ratelimit.delay(arrival, now, 3 / 7, 3.0)
            assert wait == 0, now
        assert ratelimit.delay(arrival, now, 3 / 7, 3.0)[1] > 0.4  # the eighth waits one interval


def test_a_request_refused_by_one_limit_is_counted_by_none(monkeypatch):
    from app.auth.roles import Caller, Role
    from app.kit.errors import TooManyRequests

    monkeypatch.setitem(get_settings().rate_limits, "checker", "2/second;3/minute")
    ratelimit.reset()
    caller = Caller(client_id=7, name="c", role=Role.checker, region="150000")
    try:
        ratelimit.check(caller, now=0.0)
        ratelimit.check(caller, now=0.0)
        with pytest.raises(TooManyRequests):
            ratelimit.check(caller, now=0.0)  # the per-second limit refuses; the minute one must not count it
        ratelimit.check(caller, now=1.0)  # the third of the minute
        with pytest.raises(TooManyRequests) as refused:
            ratelimit.check(caller, now=2.0)
        assert refused.value.headers["Retry-After"] == "18"  # the minute limit's next request: at 20 s
    finally:
        monkeypatch.undo()
        ratelimit.reset()


def test_buckets_of_quiet_clients_are_forgotten_once_there_are_many_at_most_once_a_second(monkeypatch):
    from app.auth.roles import Caller, Role

    monkeypatch.setitem(get_settings().rate_limits, "checker", "2/second")  # a bucket is full 0.5 s after its request
    monkeypatch.setattr(ratelimit, "SWEEP_ABOVE", 10)
    ratelimit.reset()

    def request(client: int, now: float) -> None:
        ratelimit.check(Caller(client_id=client, name="c", role=Role.checker, region="150000"), now=now)

    try:
        for n in range(11):
            request(n, 0.0)
        assert len(ratelimit._arrivals) == 11  # swept at 0.0, but all were still filling
        request(11, 0.6)
        assert len(ratelimit._arrivals) == 12  # eleven are full again, but the next sweep is due at 1.0
        request(12, 1.0)
        assert sorted(principal for principal, _limit in ratelimit._arrivals) == ["client:11", "client:12"]
    finally:
        monkeypatch.undo()
        ratelimit.reset()


def test_the_checker_role_has_the_highest_default_limit():
    from limits import parse_many

    from app.settings import Settings

    defaults = Settings.model_fields["rate_limits"].default_factory()
    per_second = {role: min(i.amount / i.get_expiry() for i in parse_many(spec)) for role, spec in defaults.items()}
    assert max(per_second, key=per_second.get) == "checker"


def test_an_unknown_query_parameter_is_refused_not_ignored(api, make_key):
    bureau = make_key("bureau", "150000")
    assert api.get("/v1/practitioners", params={"region": "150428"}, headers=bureau).status_code == 200
    response = api.get("/v1/practitioners", params={"regoin": "150428"}, headers=bureau)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.regoin"

"""A stream of score cases (POST /v1/score-cases/bulk): each case as if sent alone, at a stream's cost."""

import functools
import itertools
import json
import random

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import concurrently
from tests.shared_fixtures import violation_with

BULK = "/v1/score-cases/bulk"
NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(items) -> bytes:
    return b"".join((item if isinstance(item, bytes) else json.dumps(item, ensure_ascii=False).encode()) + b"\n"
                    for item in items)


def send(scoring, items, headers=None, client=None):
    """(result lines, summary) of a stream."""
    response = (client or scoring.client).post(BULK, content=ndjson(items), headers={**scoring.headers, **NDJSON, **(headers or {})})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert "summary" in lines[-1], lines[-1]
    return lines[:-1], lines[-1]["summary"]


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


@functools.cache
def _violation(points: int) -> str:
    return violation_with(points, "national-2024")


def entry(code, points, **kw):
    return {"practitioner": code, "violation_type": _violation(points), "points": points, **kw}


def test_a_stream_records_each_case_and_answers_each_line_in_order(scoring, engine):
    a, b = scoring.register(code="D210402000001"), scoring.register(code="D210402000002")
    cases = [scoring.case_body(f"s-{n}", [entry(a if n % 2 else b, 3)], day="2025-03-01") for n in range(7)]
    lines, summary = send(scoring, cases)
    assert [line["line"] for line in lines] == list(range(1, 8))
    assert [line["status"] for line in lines] == [201] * 7, lines[0]
    assert [line["case_ref"] for line in lines] == [f"s-{n}" for n in range(7)]
    assert summary == {"lines": 7, "created": 7, "replayed": 0, "refused": 0, "failed": 0, "entries_recorded": 7}
    # b has cases 0, 2, 4, 6: 3, 6, 9 (a suspension), 12 (a termination), each seeing the one before
    totals = [line["case"]["entries"][0]["year_total"] for line in lines]
    assert totals == [3, 3, 6, 6, 9, 9, 12]
    assert lines[4]["case"]["outcomes"][0]["sanctions_created"][0]["kind"] == "suspension"
    assert scoring.standing(b, "2025-03-01")["status"] == "terminated"
    assert rows(engine, "SELECT COUNT(*) FROM score_cases")[0][0] == 7
    # each case's stored answer is what the stream said, and what GET gives
    for line in lines:
        got = scoring.client.get(f"/v1/score-cases/{line['case']['id']}", headers=scoring.headers)
        assert got.json() == line["case"]
    audit = rows(engine, "SELECT object FROM audit_log WHERE action = 'score_case.create' ORDER BY id")
    assert [o for (o,) in audit] == [f"score_case:{line['case']['id']}" for line in lines]


def test_a_repeated_stream_changes_nothing_and_answers_the_first_answers(scoring, engine):
    code = scoring.register()
    cases = [scoring.case_body(f"r-{n}", [entry(code, 2)]) for n in range(4)]
    first, _ = send(scoring, cases)
    ledger = rows(engine, "SELECT id, hash FROM ledger ORDER BY id")
    again, summary = send(scoring, cases)
    assert [line["status"] for line in again] == [200] * 4
    assert [line["case"] for line in again] == [line["case"] for line in first]
    assert summary["replayed"] == 4 and summary["created"] == 0 and summary["entries_recorded"] == 0
    assert rows(engine, "SELECT id, hash FROM ledger ORDER BY id") == ledger
    # a case sent alone after the stream is a repeat too, and the stream's after a single request
    alone = scoring.post_body(cases[0])
    assert alone.status_code == 200 and alone.json() == first[0]["case"]


def test_a_case_ref_twice_in_one_stream_is_recorded_once(scoring, engine):
    code = scoring.register()
    case = scoring.case_body("twice", [entry(code, 2)])
    changed = {**case, "decision_number": "another"}
    lines, summary = send(scoring, [case, case, changed])
    assert [line["status"] for line in lines] == [201, 200, 422]
    assert lines[1]["case"] == lines[0]["case"]
    assert lines[2]["problem"]["errors"][0]["type"] == "idempotency_conflict"
    assert rows(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'entry'")[0][0] == 1
    assert summary["created"] == 1 and summary["replayed"] == 1 and summary["refused"] == 1


def test_bad_lines_are_refused_alone_with_the_field_named_and_lose_nothing_else(scoring, engine):
    code = scoring.register()
    good = [scoring.case_body(f"g-{n}", [entry(code, 1)]) for n in range(3)]
    unknown = scoring.case_body("unknown", [entry("D210402999999", 1)])
    out_of_band = scoring.case_body("band", [{**entry(code, 1), "points": 40}])
    nul = scoring.case_body("nul\u0000", [entry(code, 1)])
    missing = {k: v for k, v in scoring.case_body("missing", [entry(code, 1)]).items() if k != "decision_date"}
    stream = [good[0], b'{"case_ref": "broken", ', unknown, b"", missing, good[1], out_of_band, nul, b"[1, 2]", good[2]]
    lines, summary = send(scoring, stream)
    by_line = {line["line"]: line for line in lines}
    assert 4 not in by_line  # a blank line is no case
    assert [by_line[n]["status"] for n in (1, 6, 10)] == [201, 201, 201]
    fields = {n: [e["field"] for e in by_line[n]["problem"]["errors"]] for n in (2, 3, 5, 7, 8, 9)}
    assert fields == {2: ["body"], 3: ["body.entries.0.practitioner"], 5: ["body.decision_date"],
                      7: ["body.entries.0.points"], 8: ["body.case_ref", "body.decision_number"], 9: ["body"]}
    assert all(by_line[n]["status"] == 422 and by_line[n]["problem"]["type"] == "validation-error" for n in fields)
    assert by_line[3]["case_ref"] == "unknown" and by_line[2]["case_ref"] is None
    assert summary == {"lines": 9, "created": 3, "replayed": 0, "refused": 6, "failed": 0, "entries_recorded": 3}
    assert rows(engine, "SELECT COUNT(*) FROM score_cases")[0][0] == 3
    assert scoring.standing(code, "2025-03-01")["points"] == 3


def test_a_chunk_that_fails_whole_is_recorded_case_by_case(scoring, engine, monkeypatch, caplog):
    """Another writer recording one of the chunk's case_refs first fails its insert, and with it
    the chunk: nothing of it stays, and each case goes again on its own (a repeat where it raced)."""
    from sqlalchemy.exc import IntegrityError

    from app.scoring import bulk

    code = scoring.register()
    raced = scoring.case_body("raced", [entry(code, 2)])
    assert scoring.post_body(raced).status_code == 201
    real = bulk._record_chunk

    def racing(session, caller, items):
        real(session, caller, items)  # written, then the chunk's commit is refused
        raise IntegrityError("INSERT INTO score_cases", {}, Exception("duplicate key"))

    monkeypatch.setattr(bulk, "_record_chunk", racing)
    lines, summary = send(scoring, [scoring.case_body("r1", [entry(code, 1)]), raced, scoring.case_body("r2", [entry(code, 3)])])
    assert [line["status"] for line in lines] == [201, 200, 201]
    assert [line["case"]["entries"][0]["year_total"] for line in lines] == [3, 2, 6]
    assert rows(engine, "SELECT COUNT(*) FROM score_cases")[0][0] == 3
    assert any("one by one" in r.getMessage() for r in caplog.records)


def test_problems_speak_the_requested_language(scoring):
    lines, _ = send(scoring, [scoring.case_body("zh", [entry("D210402999999", 1)])], headers={"Accept-Language": "zh-CN"})
    assert lines[0]["problem"]["title"] == "请求校验未通过"
    assert "D210402999999" in lines[0]["problem"]["errors"][0]["message"]
    assert "注册" in lines[0]["problem"]["errors"][0]["message"] or "登记" in lines[0]["problem"]["errors"][0]["message"]


def test_a_case_to_notify_in_a_stream_waits_for_its_defence(scoring, engine):
    code = scoring.register()
    lines, _ = send(scoring, [scoring.case_body("n1", [entry(code, 1)]),
                              scoring.case_body("n2", [entry(code, 3)], procedure="notify", notified_on="2025-03-02"),
                              scoring.case_body("n3", [entry(code, 1)])])
    assert [line["status"] for line in lines] == [201, 201, 201]
    assert lines[1]["case"]["entries"][0]["status"] == "proposed"
    assert rows(engine, "SELECT COUNT(*) FROM score_proposals")[0][0] == 1
    # the proposal counts for nothing yet: the case after it sees only the first
    assert [lines[n]["case"]["entries"][0]["year_total"] for n in (0, 2)] == [1, 2]


def test_the_stream_is_ndjson_and_its_callers_may_score(scoring, make_key):
    body = ndjson([scoring.case_body("x", [entry("D210402000001", 1)])])
    wrong = scoring.client.post(BULK, content=body, headers={**scoring.headers, "Content-Type": "application/json"})
    assert wrong.status_code == 415
    assert "application/x-ndjson" in wrong.headers["accept-post"]
    assert scoring.client.post(BULK, content=body, headers=NDJSON).status_code == 401
    checker = make_key("checker", "100000")
    assert scoring.client.post(BULK, content=body, headers={**checker, **NDJSON}).status_code == 403


def test_a_line_longer_than_a_request_may_be_is_refused_alone(scoring, monkeypatch):
    from app.settings import get_settings

    code = scoring.register()
    limit = get_settings().max_body_bytes
    long = scoring.case_body("long", [entry(code, 1)], decision_number="x" * (limit + 10))
    lines, summary = send(scoring, [long, scoring.case_body("after", [entry(code, 1)])])
    assert lines[0]["status"] == 422 and lines[0]["problem"]["errors"][0]["field"] == "body"
    assert str(limit) in lines[0]["problem"]["detail"]
    assert lines[1]["status"] == 201 and lines[1]["line"] == 2
    assert summary["created"] == 1


def test_a_stream_may_be_larger_than_a_request(scoring, engine):
    from app.settings import get_settings

    code = scoring.register()
    limit = get_settings().max_body_bytes
    # Lines padded with JSON's own whitespace: each within a request's limit, together over it.
    padding = b" " * (limit // 8)
    cases = [json.dumps(scoring.case_body(f"big-{n}", [entry(code, 1)])).encode().replace(b"{", b"{" + padding, 1)
             for n in range(10)]
    assert len(ndjson(cases)) > limit
    _lines, summary = send(scoring, cases)
    assert summary["created"] == 10
    assert scoring.post_body(scoring.case_body("big", [entry(code, 1)], decision_number="y" * limit)).status_code == 413


# ---------------------------------------------------------------- the same as one request a case


def _normalised(answer, code_map):
    """A case's answer without what differs between two databases' runs: ids, instants, codes."""
    text_ = json.dumps(answer, sort_keys=True)
    for mine, theirs in code_map.items():
        text_ = text_.replace(mine, theirs)
    data = json.loads(text_)
    data.pop("id"), data.pop("created_at"), data.pop("case_ref"), data.pop("decision_number")
    for e in data["entries"]:
        e.pop("id")
        for s in e["sanctions_created"]:
            s.pop("id"), s.pop("trigger_entry_id")
    for o in data["outcomes"]:
        for kind in ("sanctions_created", "sanctions_changed", "sanctions_lifted"):
            for s in o[kind]:
                s.pop("id"), s.pop("trigger_entry_id")
    return data


_runs = itertools.count(1)
_case = st.tuples(
    st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),  # which people
    st.integers(1, 6),  # points
    st.sampled_from(["2025-02-03", "2025-05-06", "2025-11-30", "2026-01-05"]),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(_case, min_size=1, max_size=14))
def test_a_stream_answers_exactly_what_single_requests_answer(scoring, engine, cases):
    """Two pools of four people registered alike: pool A gets the cases one request each, pool B
    the same cases as one stream. Every answer and every standing must match."""
    run = next(_runs)  # hypothesis's examples share the test's database: new people each
    pool_a = [scoring.register(code=f"D210402{run:03d}{n:03d}") for n in range(4)]
    pool_b = [scoring.register(code=f"D210402{run:03d}{n + 500:03d}") for n in range(4)]
    singles, stream = [], []
    for k, (people, points, day) in enumerate(cases):
        for pool, out, prefix in ((pool_a, singles, "a"), (pool_b, stream, "b")):
            out.append(scoring.case_body(f"{prefix}-{run}-{k}", [entry(pool[p], points, act="A1") if len(people) == 1
                                                                 else entry(pool[p], points) for p in people], day=day))
    answers_a = []
    for body in singles:
        response = scoring.post_body(body)
        assert response.status_code == 201, response.text
        answers_a.append(response.json())
    lines, summary = send(scoring, stream)
    assert summary["created"] == len(cases)
    to_a = dict(zip(pool_b, pool_a))
    assert [_normalised(line["case"], to_a) for line in lines] == [_normalised(a, {}) for a in answers_a]
    for a, b in zip(pool_a, pool_b):
        for day in ("2025-06-01", "2026-02-01"):
            mine, theirs = scoring.standing(b, day), scoring.standing(a, day)
            assert {**mine, "code": a} == theirs


# ---------------------------------------------------------------- concurrent streams


def test_concurrent_streams_over_the_same_people_and_cases_record_each_case_once(live_server, scoring, engine):
    people = [scoring.register(code=f"D210402000{n:03d}") for n in range(6)]
    cases = [scoring.case_body(f"cc-{n}", [entry(people[n % 6], 1), entry(people[(n + 1) % 6], 1)]) for n in range(30)]

    def stream(order):
        def go():
            response = httpx.post(f"{live_server}{BULK}", content=ndjson([cases[i] for i in order]),
                                  headers={**scoring.headers, **NDJSON}, timeout=120)
            assert response.status_code == 200, response.text
            return [json.loads(line) for line in response.text.splitlines()]
        return go

    orders = [list(range(30)), list(reversed(range(30))), random.sample(range(30), 30), random.sample(range(30), 30)]
    results = concurrently([stream(order) for order in orders])
    statuses = {}
    for lines in results:
        assert lines[-1]["summary"]["lines"] == 30 and lines[-1]["summary"]["failed"] == 0
        for line in lines[:-1]:
            statuses.setdefault(line["case_ref"], []).append(line["status"])
    # each case recorded by exactly one stream, a repeat for the three others
    assert all(sorted(s) == [200, 200, 200, 201] for s in statuses.values()), statuses
    assert rows(engine, "SELECT COUNT(*) FROM score_cases")[0][0] == 30
    assert rows(engine, "SELECT COUNT(*) FROM ledger WHERE kind = 'entry'")[0][0] == 60
    for code in people:
        assert scoring.standing(code, "2025-03-01")["points"] == 10
    seqs = rows(engine, "SELECT practitioner_id, seq FROM ledger ORDER BY practitioner_id, seq")
    by_person = {}
    for pid, seq in seqs:
        by_person.setdefault(pid, []).append(seq)
    assert all(s == list(range(1, len(s) + 1)) for s in by_person.values())


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

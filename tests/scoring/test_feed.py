"""The standing feed, the snapshot and the reference mirror (app/scoring/feed.py, mirror.py).

On both databases: paging, resuming, cursor validation, the snapshot's framing, and a mirror that
answers as the service does. On PostgreSQL the concurrent test is the one that matters: changes
committed out of id order must still all reach a consumer reading while they are written.
"""

import gzip
import random
import threading
from datetime import date

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.scoring import feed, mirror
from app.shared import feed as outbox
from tests.conftest import concurrently, practitioner_body
from tests.shared_fixtures import REGIONS, violation_with

DATES = ["2019-12-31", "2020-01-01", "2024-06-30", "2025-03-01", "2025-03-02", "2025-06-01", "2025-09-15",
         "2025-12-31", "2026-01-01", "2026-03-01", "2027-06-01", "2029-01-01", "2031-07-01"]


@pytest.fixture
def checker(make_key):
    return make_key("checker", "100000")


def key_of(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def drained():
    """Wait until every change recorded is served. On PostgreSQL a change is served once every
    transaction that got its xid before it has ended, in the whole cluster (xids are the
    cluster's): other test runs on the same server hold the feed back for a moment."""
    import time

    from app.kit.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "sqlite":
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT COALESCE(MAX(xid), 0) < CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) "
                                 "AS text) AS bigint) FROM standing_changes")).scalar_one():
                return
        time.sleep(0.02)
    raise AssertionError("a transaction of the cluster held the feed back for a minute")


def changes(api, headers, after=None, limit=None):
    drained()
    params = {k: v for k, v in (("after", after), ("limit", limit)) if v is not None}
    response = api.get("/v1/standings/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def read_all(api, headers, after=None, limit=1000):
    items = []
    while True:
        page = changes(api, headers, after, limit)
        items += page["items"]
        after = page["next_cursor"]
        if len(page["items"]) < limit:
            return items, after


def score(scoring, code, ref, day, points):
    return scoring.score(code, ref, day, points=points, violation=violation_with(points, "national-2024"))


def code_of(n: int, region: str = "210402") -> str:
    return f"D{region}{n:06d}"


def test_every_change_pages_in_order_and_resumes(scoring, api, checker):
    a, b = scoring.register(code=code_of(1)), scoring.register(code=code_of(2))
    score(scoring, a, "c1", "2025-03-01", 6)
    score(scoring, a, "c2", "2025-03-02", 6)  # 12: terminated
    score(scoring, b, "c3", "2025-03-01", 3)

    everything, end = read_all(api, checker)
    assert [(i["code"], i["version"]) for i in everything] == [(a, 1), (b, 1), (a, 2), (a, 3), (b, 2)]
    assert everything[0]["timeline"] is None and everything[0]["first_year"] is None  # registered: found
    last_a = everything[3]
    assert last_a["region"] == "210402" and last_a["registered_on"] == "2020-01-01"
    assert last_a["first_year"] == 2025 and last_a["timeline"]["sanctions"][-1]["kind"] == "termination"

    # Page by page, two at a time, each page from the last one's cursor: the same changes, once.
    paged, after = [], None
    for _ in range(10):
        page = changes(api, checker, after, 2)
        paged += page["items"]
        after = page["next_cursor"]
        if len(page["items"]) < 2:
            break
    assert paged == everything and after == end
    # Caught up: nothing new, and the same cursor to ask from again.
    assert changes(api, checker, end) == {"items": [], "next_cursor": end}
    scoring.register(code=code_of(3))
    assert [i["code"] for i in changes(api, checker, end)["items"]] == [code_of(3)]


def test_a_move_is_a_change_and_a_plain_edit_is_not(scoring, api, checker):
    code = scoring.register(code=code_of(4))
    _, start = read_all(api, checker)
    scoring.register(code=code, name="王某")  # a new name: the answer does not change
    assert changes(api, checker, start)["items"] == []
    region, institution, _ = REGIONS["tianjin-2024"]
    response = api.put(f"/v1/practitioners/{code}", headers=scoring.headers, json=practitioner_body(
        region=region, institutions=[{"code": institution}], id_number=REGIONS["national-2024"][2],
        registered_on="2020-01-01"))
    assert response.status_code == 200, response.text
    moved = changes(api, checker, start)["items"]
    assert [(i["code"], i["region"], i["version"]) for i in moved] == [(code, region, 2)]


def test_a_change_committed_behind_a_later_one_is_not_skipped(scoring, api, checker, engine):
    """Ids are taken at insert, commits come in any order: a change whose transaction is still
    open holds back every change after it, so a reader's cursor never passes it."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers: id order is commit order")
    a, b = scoring.register(code=code_of(30)), scoring.register(code=code_of(31))
    _, start = read_all(api, checker)
    with engine.connect() as slow:
        transaction = slow.begin()
        (a_id,) = slow.execute(text("SELECT id FROM practitioners WHERE code = :c"), {"c": a}).one()
        outbox.record(slow, [a_id])  # the lower id, not committed yet
        score(scoring, b, "later", "2025-03-01", 2)  # a higher id, committed
        held = api.get("/v1/standings/changes", params={"after": start}, headers=checker).json()
        assert held == {"items": [], "next_cursor": start}
        transaction.commit()
    assert [(i["code"], i["version"]) for i in changes(api, checker, start)["items"]] == [(a, 2), (b, 2)]


@pytest.mark.parametrize("after", ["abc", "1", "1.2.3", "-1.0", "1.-2", "99999999999999999999.1",
                                   "9223372036854775808.0", "１.２", " 1.2", "1.2 ", "x" * 61])
def test_a_bad_cursor_is_422_naming_query_after(api, checker, after):
    response = api.get("/v1/standings/changes", params={"after": after}, headers=checker)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["query.after"]


@pytest.mark.parametrize("limit", ["0", "10001", "x"])
def test_a_bad_limit_is_422(api, checker, limit):
    response = api.get("/v1/standings/changes", params={"limit": limit}, headers=checker)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.limit"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=30))
def test_any_text_as_a_cursor_is_a_page_or_a_422(api, checker, after):
    response = api.get("/v1/standings/changes", params={"after": after}, headers=checker)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert feed.parse_cursor(after) == feed.parse_cursor(response.json()["next_cursor"])


def test_cursors_round_trip():
    for position in [(0, 0), (0, 1), (2**63 - 1, 2**63 - 1), (123456789, 42)]:
        assert feed.parse_cursor(feed.format_cursor(position)) == position


def snapshot(api, headers) -> list[dict]:
    drained()
    with api.stream("GET", "/v1/standings/snapshot", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert response.headers["content-encoding"] == "gzip"
        body = b"".join(response.iter_raw())  # as sent: gzip
    return [orjson.loads(line) for line in gzip.decompress(body).splitlines()]


def test_the_snapshot_frames_everyone_with_the_cursor_to_follow(scoring, api, checker):
    codes = [scoring.register(code=code_of(n)) for n in range(5, 8)]
    score(scoring, codes[1], "s1", "2025-03-01", 9)
    lines = snapshot(api, checker)
    header, people, end = lines[0], lines[1:-1], lines[-1]
    assert end == {"end": True, "count": 3}
    assert [p["code"] for p in people] == codes
    assert [p["version"] for p in people] == [1, 2, 1]
    assert people[1]["timeline"]["sanctions"][0]["kind"] == "suspension"
    # From its cursor the feed holds at most what the snapshot has already (a version not above
    # it) and then whatever comes after.
    for item in changes(api, checker, header["cursor"])["items"]:
        assert item["version"] <= next(p["version"] for p in people if p["code"] == item["code"])
    score(scoring, codes[2], "s2", "2025-03-01", 2)
    later = changes(api, checker, header["cursor"])["items"]
    assert (codes[2], 2) in [(i["code"], i["version"]) for i in later]


def service_answers(api, headers, codes, day):
    response = api.post("/v1/standings/query", json={"codes": codes, "at": day}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def assert_mirror_answers_as_the_service(api, headers, replica, codes):
    codes = [*codes, code_of(999_999)]  # not found, in both
    for day in DATES:
        assert replica.standings(codes, date.fromisoformat(day)) == service_answers(api, headers, codes, day), day
    one = api.get(f"/v1/practitioners/{codes[0]}/standing", params={"at": "2025-06-01"}, headers=headers).json()
    assert replica.standing(codes[0], date(2025, 6, 1)) == one
    assert replica.standing(code_of(999_999), date(2025, 6, 1)) is None


def test_a_mirror_loads_the_snapshot_follows_and_answers_as_the_service(scoring, api, checker, tmp_path):
    codes = [scoring.register(code=code_of(n)) for n in range(10, 14)]
    score(scoring, codes[0], "m1", "2025-03-01", 9)
    source = mirror.Source("http://testserver", key_of(checker), client=api)
    replica = mirror.Replica(f"sqlite:///{tmp_path}/mirror.db")
    drained()
    assert mirror.catch_up(replica, source, limit=2) == 0 or replica.cursor
    assert replica.people() == 4
    assert_mirror_answers_as_the_service(api, checker, replica, codes)

    entry = score(scoring, codes[1], "m2", "2025-03-02", 12)
    score(scoring, codes[2], "m3", "2025-05-01", 4)
    assert api.post(f"/v1/practitioners/{codes[2]}/repairs", headers=scoring.headers, json={
        "activity": "policy_training", "occurred_on": "2025-06-01", "reference": "R-1"}).status_code == 201
    assert api.post(f"/v1/score-entries/{entry['id']}/reversal", json={"reason": "复核撤销"},
                    headers=scoring.headers).status_code == 201
    codes.append(scoring.register("tianjin-2024", code=code_of(14, "120101")))
    drained()
    assert mirror.catch_up(replica, source, limit=2) >= 5
    assert replica.people() == 5
    assert_mirror_answers_as_the_service(api, checker, replica, codes)

    # A page applied twice (a crash between applying and remembering) changes nothing.
    cursor = replica.cursor
    replica.apply(changes(api, checker)["items"], cursor)
    assert_mirror_answers_as_the_service(api, checker, replica, codes)
    replica.close()


def test_a_standing_rewritten_by_ledger_repair_reaches_the_mirror(scoring, api, checker, engine, tmp_path):
    """Someone edits a stored timeline behind the service's back (the mirror does not hear of it:
    it is no change the service made); ``ledger verify --repair-standings`` rewrites it from the
    ledger, and that is a change: the mirror is right again."""
    from app.scoring import integrity

    code = scoring.register(code=code_of(40))
    score(scoring, code, "r1", "2025-03-01", 9)
    source = mirror.Source("http://testserver", key_of(checker), client=api)
    replica = mirror.Replica(f"sqlite:///{tmp_path}/repair.db")
    drained()
    mirror.catch_up(replica, source)
    with engine.begin() as conn:
        conn.execute(text("UPDATE standings SET first_year = NULL, last_year = NULL"))
    assert scoring.standing(code, "2025-03-01")["status"] == "active"  # the service now answers wrongly
    _, repaired = integrity.run(repair=True)
    assert repaired == 1
    drained()
    assert mirror.catch_up(replica, source) == 1
    assert_mirror_answers_as_the_service(api, checker, replica, [code])
    assert replica.standing(code, date(2025, 3, 1))["status"] == "suspended"
    replica.close()


def test_a_cut_off_snapshot_leaves_the_mirror_empty(tmp_path):
    replica = mirror.Replica(f"sqlite:///{tmp_path}/m.db")
    person = {"code": code_of(1), "version": 1, "region": "210402", "registered_on": "2020-01-01",
              "first_year": None, "timeline": None}
    lines = [orjson.dumps({"cursor": "0.5"}), orjson.dumps(person)]
    with pytest.raises(mirror.MirrorError, match="cut off"):
        replica.load_snapshot(lines)
    assert replica.people() == 0 and replica.cursor is None
    replica.load_snapshot([*lines, orjson.dumps({"end": True, "count": 1})])
    assert replica.people() == 1 and replica.cursor == "0.5"


def test_a_later_version_wins_whatever_the_order_applied(tmp_path):
    replica = mirror.Replica(f"sqlite:///{tmp_path}/m.db")
    old = {"code": code_of(1), "version": 1, "region": "210402", "registered_on": "2020-01-01",
           "first_year": None, "timeline": None}
    new = {**old, "version": 2, "region": "120101"}
    replica.apply([new], "0.2")
    replica.apply([old], "0.3")
    assert replica.db.execute("SELECT region, version FROM mirror_standings").fetchall() == [("120101", 2)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5), st.sampled_from(["210402", "120101", "150428"])),
                max_size=25),
       st.randoms(use_true_random=False), st.integers(1, 6))
def test_a_mirror_ends_with_each_persons_highest_version_whatever_the_order_and_pages(changes_, rnd, page):
    """Pages in any order, of any size, some applied twice: each person ends at their highest
    version's data (what the feed's order and replays can deliver)."""
    items = [{"code": code_of(person), "version": version, "region": region, "registered_on": "2020-01-01",
              "first_year": None, "timeline": None} for person, version, region in changes_]
    latest = {}
    for i in items:
        if i["code"] not in latest or i["version"] > latest[i["code"]][0]:
            latest[i["code"]] = (i["version"], i["region"])
    shuffled = list(items)
    rnd.shuffle(shuffled)
    replica = mirror.Replica(":memory:")
    pages = [shuffled[k:k + page] for k in range(0, len(shuffled), page)]
    for n, chunk in enumerate(pages + pages[: rnd.randint(0, len(pages))]):  # some pages replayed
        replica.apply(chunk, f"0.{n}")
    held = {code: (version, region) for code, version, region
            in replica.db.execute("SELECT code, version, region FROM mirror_standings")}
    # Where one person has two changes of the same version (not something the feed sends), either may stay.
    assert held.keys() == latest.keys()
    assert all(held[c][0] == latest[c][0] for c in held)
    replica.close()


def test_the_mirror_command_catches_up_once(scoring, checker, live_server, tmp_path, capsys):
    from app.cli import main

    codes = [scoring.register(code=code_of(n)) for n in range(20, 22)]
    score(scoring, codes[0], "cli", "2025-03-01", 9)
    drained()
    into = f"sqlite:///{tmp_path}/cli.db"
    args = ["mirror", "--from", live_server, "--key", key_of(checker), "--into", into, "--once"]
    assert main(args) == 0
    cursor = capsys.readouterr().out.strip()
    replica = mirror.Replica(into)
    assert replica.cursor == cursor and replica.people() == 2
    assert replica.standing(codes[0], date(2025, 3, 1))["status"] == "suspended"
    replica.close()
    assert main(args) == 0  # again: nothing new, the same cursor
    assert capsys.readouterr().out.strip() == cursor
    assert main([*args[:4], "not-a-key", *args[5:]]) == 2  # refused: 401
    assert main(["mirror", "--from", "http://127.0.0.1:9", "--key", "k", "--into", into, "--once"]) == 1


# ---------------------------------------------------------------- concurrent writers, a mirror reading


def test_a_mirror_reading_during_concurrent_writes_misses_nothing(scoring, checker, make_key, live_server, tmp_path,
                                                                  api):
    """Several threads register, score (cases naming several people), reverse, repair and move
    people over real HTTP while a mirror follows the feed; afterwards it answers every code and
    date as the service does, and holds every person's latest version."""
    rng = random.Random(20251203)
    bureau = scoring.headers
    codes = [scoring.register(code=code_of(n)) for n in range(100, 106)]
    lock = threading.Lock()
    entries: list[int] = []
    next_code = iter(range(200, 10_000))

    def post(client, path, body, ok=(200, 201)):
        response = client.post(f"{live_server}{path}", json=body, headers=bureau, timeout=60)
        assert response.status_code in ok, response.text
        return response

    def writer(seed):
        r = random.Random(seed)
        with httpx.Client() as client:
            for n in range(14):
                op = r.choice(["case", "case", "case", "register", "reverse", "repair", "move"])
                with lock:
                    known = list(codes)
                if op == "case":
                    people = r.sample(known, k=min(len(known), r.randint(1, 3)))
                    body = scoring.case_body(f"w{seed}-{n}", [
                        {"practitioner": c, "violation_type": violation_with(p, "national-2024"), "points": p}
                        for c in people for p in [r.randint(1, 4)]], day=f"2025-0{r.randint(1, 9)}-1{r.randint(0, 9)}")
                    answer = post(client, "/v1/score-cases", body).json()
                    with lock:
                        entries.extend(e["id"] for e in answer["entries"])
                elif op == "register":
                    with lock:
                        code = code_of(next(next_code))
                    region, institution, id_number = REGIONS[r.choice(list(REGIONS))]
                    response = client.put(f"{live_server}/v1/practitioners/{code}", headers=bureau, timeout=60,
                                          json=practitioner_body(region=region, institutions=[{"code": institution}],
                                                                 id_number=id_number, registered_on="2020-01-01"))
                    assert response.status_code == 201, response.text
                    with lock:
                        codes.append(code)
                elif op == "reverse":
                    with lock:
                        entry = r.choice(entries) if entries else None
                    if entry is not None:
                        post(client, f"/v1/score-entries/{entry}/reversal", {"reason": "复核撤销"})
                elif op == "repair":
                    post(client, f"/v1/practitioners/{r.choice(known)}/repairs",
                         {"activity": "policy_training", "occurred_on": "2025-10-01", "reference": f"R{seed}-{n}"},
                         ok=(200, 201, 409, 422))
                else:
                    region, institution, id_number = REGIONS[r.choice(list(REGIONS))]
                    code = r.choice(known)
                    response = client.put(f"{live_server}/v1/practitioners/{code}", headers=bureau, timeout=60,
                                          json=practitioner_body(region=region, institutions=[{"code": institution}],
                                                                 id_number=id_number, registered_on="2020-01-01"))
                    assert response.status_code == 200, response.text

    done = threading.Event()
    replica = mirror.Replica(f"sqlite:///{tmp_path}/live.db")
    source = mirror.Source(live_server, key_of(checker))
    rounds = []

    def follower():
        while not done.is_set():
            rounds.append(mirror.catch_up(replica, source, limit=7))

    reader = threading.Thread(target=follower)
    reader.start()
    try:
        concurrently([lambda s=s: writer(s) for s in (rng.random() for _ in range(5))])
    finally:
        done.set()
        reader.join(timeout=120)
    drained()
    mirror.catch_up(replica, source, limit=7)
    assert len(rounds) > 1  # the mirror read while the writes went on

    heads = dict(api_rows("SELECT p.code, h.version FROM standing_feed_heads h "
                          "JOIN practitioners p ON p.id = h.practitioner_id"))
    assert dict(replica.db.execute("SELECT code, version FROM mirror_standings").fetchall()) == heads
    assert set(heads) == set(codes)
    assert_mirror_answers_as_the_service(api, checker, replica, codes)
    # A consumer that never took a snapshot and read the whole feed from its first change ends the same.
    from_start = mirror.Replica(f"sqlite:///{tmp_path}/from-start.db")
    mirror.sync_rulesets(from_start, source)
    from_start.apply([], "0.0")
    mirror.catch_up(from_start, source, limit=50)
    held = "SELECT code, version, region, registered_on, first_year, timeline FROM mirror_standings ORDER BY code"
    assert from_start.db.execute(held).fetchall() == replica.db.execute(held).fetchall()
    from_start.close()
    replica.close()


def api_rows(sql):
    from app.kit.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(sql)).all()

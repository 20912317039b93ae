"""A database restart under load: requests in flight fail, the service recovers by itself, and
nothing acknowledged is lost or counted twice.

The shared PostgreSQL server must not be restarted (other test runs use it), so the test starts
a private cluster of the same installation (initdb into a temporary directory, pg_ctl on a free
port, as the postgres user: initdb refuses root), serves the API from a real uvicorn process
against it, posts score cases from threads, restarts the cluster (``pg_ctl restart -m fast``)
mid-load and keeps going. Then: every case answered 2xx is stored exactly once, every stored
year total equals the sum of its ledger, the hash chains hold, and the only errors were 503s for
requests in flight around the restart. Runs in the PostgreSQL pass of CI; skipped where the
server binaries are missing.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app import migrate
from app.auth import service as client_service
from app.kit.db import get_read_session, make_engine
from app.practitioners.models import Practitioner
from app.scoring import catalog, ledger
from app.scoring.models import LedgerRow, ScoreCase, StandingRecord
from app.scoring.service import ENTRY
from app.scoring.standing import Timeline
from tests import dbutil
from tests.conftest import practitioner_body
from tests.processes import free_port, start_api
from tests.shared_fixtures import REGIONS, violation_with


def _server_binaries() -> Path | None:
    """The newest installed PostgreSQL with initdb and pg_ctl."""
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]),
                            reverse=True):
        if all(os.access(Path(directory, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(directory)
    return None


def _can_run_as_postgres() -> bool:
    if os.geteuid() != 0:
        return True  # initdb runs as the current user
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return shutil.which("runuser") is not None


pytestmark = pytest.mark.skipif(dbutil.server_url() is None,
                                reason="runs in the PostgreSQL pass of CI (APP_TEST_DATABASE_URL is not set)")
needs_server_binaries = pytest.mark.skipif(_server_binaries() is None or not _can_run_as_postgres(), reason=(
    "needs the PostgreSQL server binaries under /usr/lib/postgresql, and as root a postgres user and runuser"))


class PrivateCluster:
    """A throw-away PostgreSQL cluster in its own directory, on its own port and socket."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="pct-restart-"))
        self.data = self.root / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # Output to a file, not a pipe: the server pg_ctl starts would hold a pipe open for good.
        with open(self.root / "tools.log", "ab") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed:\n{self.log('tools.log')}\n{self.log('server.log')}")

    def log(self, name: str) -> str:
        path = self.root / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1")

    def restart(self) -> None:
        """Fast shutdown (sessions are disconnected, in-flight transactions roll back), then up."""
        self._run("pg_ctl", "restart", "-w", "-m", "fast", "-D", str(self.data), "-l", str(self.root / "server.log"))

    def remove(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
        except RuntimeError:
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster():
    private = PrivateCluster(_server_binaries())
    try:
        private.start()
        yield private
    finally:
        private.remove()


@dataclass
class Outcome:
    case_ref: str | None  # None for a standing check
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    problem_type: str | None = None


def _prepare(url: str) -> dict[str, str]:
    """Schema, rulesets and a national bureau key in the private cluster."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            catalog.sync_bundled(session)
        with Session(engine) as session:
            _client, key = client_service.create_client(session, role="bureau", region="100000", name="restart test")
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {key}"}


def test_a_session_whose_connection_the_server_dropped_closes_quietly(engine):
    """What a request still holding a session meets when the database restarts (once a 500 that
    cut off a standing check already computed)."""
    sessions = get_read_session()
    session = next(sessions)
    backend = session.exec(text("SELECT pg_backend_pid()")).one()[0]
    with engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    sessions.close()  # the dependency's teardown: closes the session, does not raise


@needs_server_binaries
def test_a_database_restart_under_load_loses_nothing_acknowledged(cluster, tmp_path):
    headers = _prepare(cluster.url)
    server, base = start_api(tmp_path / "api.log", {"APP_DATABASE_URL": cluster.url})
    try:
        outcomes = _load_across_a_restart(cluster, base, headers)
        after = _checks_after(base, headers)
    finally:
        server.terminate()
        server.wait(timeout=15)
    _assert_errors_only_around_the_restart(outcomes)
    _assert_every_acknowledged_case_once_and_totals_match(cluster.url, outcomes, after)


PEOPLE = 12
WRITERS = 8


def _load_across_a_restart(cluster: PrivateCluster, base: str, headers: dict) -> dict:
    region, institution, id_number = REGIONS["national-2024"]
    codes = [f"D{region}{n:06d}" for n in range(1, PEOPLE + 1)]
    violation = violation_with(1, "national-2024")
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for code in codes:
            body = practitioner_body(region=region, institutions=[{"code": institution}], id_number=id_number,
                                     registered_on="2020-01-01")
            assert client.put(f"/v1/practitioners/{code}", json=body).status_code == 201

    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()

    def record(outcome: Outcome) -> None:
        with lock:
            outcomes.append(outcome)

    def call(client: httpx.Client, case_ref: str | None, method: str, url: str, **kw) -> None:
        started = time.monotonic()
        try:
            response = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            record(Outcome(case_ref, started, time.monotonic(), None, repr(exc)))
            return
        problem = response.json().get("type") if response.status_code >= 400 else None
        record(Outcome(case_ref, started, time.monotonic(), response.status_code, problem))

    def writer(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            i = 0
            while not stop.is_set():
                i += 1
                ref = f"restart-{n}-{i}"
                body = {"case_ref": ref, "basis": "administrative_penalty", "decision_number": ref,
                        "decision_date": "2025-03-01", "institution": institution,
                        "entries": [{"practitioner": codes[(n + i) % PEOPLE], "violation_type": violation,
                                     "points": 1}]}
                call(client, ref, "POST", "/v1/score-cases", json=body, headers={"Idempotency-Key": ref})

    def checker() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while not stop.is_set():
                call(client, None, "GET", f"/v1/practitioners/{codes[0]}/standing")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads.append(threading.Thread(target=checker))
    for thread in threads:
        thread.start()
    try:
        _wait_until(lambda: sum(o.status == 201 for o in outcomes) >= 40, "no load before the restart")
        restart_began = time.monotonic()
        cluster.restart()
        restart_ended = time.monotonic()
        _wait_until(lambda: sum(o.status == 201 and o.started > restart_ended + 2 for o in outcomes) >= 40,
                    "the service did not recover after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return {"outcomes": outcomes, "restart": (restart_began, restart_ended), "codes": codes}


def _wait_until(condition, message: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def _checks_after(base: str, headers: dict) -> dict:
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        codes = [f"D{REGIONS['national-2024'][0]}{n:06d}" for n in range(1, PEOPLE + 1)]
        return {code: client.get(f"/v1/practitioners/{code}/standing", params={"at": "2025-12-31"}).json()
                for code in codes}


def _assert_errors_only_around_the_restart(run: dict) -> None:
    outcomes, (began, ended) = run["outcomes"], run["restart"]
    failed = [o for o in outcomes if o.status is None or o.status >= 300]
    assert failed, "the restart went unnoticed: nothing was in flight"
    # Every failure is a 503 problem (never a 500, never a dropped connection) ...
    assert {(o.status, o.problem_type) for o in failed} == {(503, "database-unavailable")}, Counter(
        (o.status, o.problem_type) for o in failed)
    # ... of a request that was in flight during the restart: it ended after the restart began and
    # started before the database was back (plus a moment for the pool to notice).
    for o in failed:
        assert o.ended >= began and o.started <= ended + 1.0, (o, began, ended)
    late = [o for o in outcomes if o.started > ended + 1.0]
    assert late and all(o.status in (200, 201) for o in late)


def _assert_every_acknowledged_case_once_and_totals_match(url: str, run: dict, answers: dict) -> None:
    acknowledged = {o.case_ref for o in run["outcomes"] if o.case_ref and o.status in (200, 201)}
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            stored = Counter(session.exec(select(ScoreCase.case_ref)).all())
            assert all(stored[ref] == 1 for ref in acknowledged), [r for r in acknowledged if stored[r] != 1]
            assert max(stored.values()) == 1  # an unacknowledged case landed at most once too

            people = {p.id: p.code for p in session.exec(select(Practitioner)).all()}
            ledger_totals: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
            entries = 0
            for row in session.exec(select(LedgerRow).where(LedgerRow.kind == ENTRY)).all():
                ledger_totals[people[row.practitioner_id]][row.effective_on.year] += row.points
                entries += 1
            assert entries == sum(stored.values())  # one entry per stored case, none lost or doubled
            for record in session.exec(select(StandingRecord)).all():
                timeline = Timeline.from_json(json.loads(record.timeline))
                code = people[record.practitioner_id]
                for year, total in ledger_totals[code].items():
                    assert timeline.year_total(year) == total, (code, year)
                assert answers[code]["points"] == ledger_totals[code][2025], code
            _checked, broken = ledger.verify_all(session)
            assert broken == []
    finally:
        engine.dispose()

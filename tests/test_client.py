"""A Python client generated from the OpenAPI document (openapi-python-client, as a bureau's
developer would make one) drives the main flows against the real service: uvicorn on a free port
over a fresh SQLite database set up with ``python -m app setup``. What it proves: the document is
enough to call the service, the generated method names are usable, every answer parses into its
declared type, and the CSV download comes back as text rather than a JSON parse error.

Its own database, not the suite's: the PostgreSQL pass of CI skips it (tests/conftest.py)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.processes import start_api, terminate

pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "practitioner_credit_client"
CODE, OTHER = "D150428000123", "D150428000124"


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """(base URL, a bureau's key) of a freshly set-up service."""
    import os

    work = tmp_path_factory.mktemp("service")
    env = {**os.environ, "APP_DATABASE_URL": f"sqlite:///{work / 'app.db'}"}
    _cli(env, "setup")
    key = _cli(env, "clients", "create", "--role", "bureau", "--region", "150000", "--name", "generated client").strip()
    process, url = start_api(work / "uvicorn.log", env={"APP_DATABASE_URL": env["APP_DATABASE_URL"]})
    yield url, key
    terminate(process, timeout=30)


@pytest.fixture(scope="module")
def client_package(service, tmp_path_factory):
    """The generated package, imported, from the document the live service serves."""
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is not installed: it is a dev dependency")
    work = tmp_path_factory.mktemp("client")
    document = work / "openapi.json"
    document.write_text(httpx.get(f"{service[0]}/openapi.json").text, encoding="utf-8")
    config = work / "config.yaml"
    # post_hooks: it would run ruff over the code. The snapshot is gzip NDJSON, a stream for the
    # client to read line by line: generated as bytes (docs/api/index.md says the same).
    config.write_text("post_hooks: []\ncontent_type_overrides:\n  application/x-ndjson: application/octet-stream\n")
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(document), "--output-path", str(work / PACKAGE),
                           "--meta", "none", "--config", str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr  # every operation generated
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_a_generated_client_drives_the_main_flows(service, client_package):
    url, key = service
    api = importlib.import_module(f"{PACKAGE}.api")
    models = importlib.import_module(f"{PACKAGE}.models")
    for name in ("practitioners.put_practitioner", "practitioners.list_practitioners", "scoring.create_score_case",
                 "scoring.get_standing", "scoring.query_standings", "scoring.list_violation_types",
                 "notices.publish_notice", "notices.list_notices", "notices.get_notice",
                 "notices.download_notice_csv"):
        importlib.import_module(f"{PACKAGE}.api.{name}")
    client = client_package.AuthenticatedClient(base_url=url, token=key, raise_on_unexpected_status=True)

    # Register two practitioners from the document's own example.
    example = models.PractitionerIn.from_dict({
        "name": "王某某", "id_number": "150428198001010014", "category": "physician", "region": "150428",
        "institutions": [{"code": "H15042800001", "name": "喀喇沁旗医院"}], "registered_on": "2024-01-01"})
    registered = api.practitioners.put_practitioner.sync_detailed(CODE, client=client, body=example)
    assert registered.status_code == 201 and isinstance(registered.parsed, models.PractitionerOut)
    assert registered.parsed.code == CODE and "X-Request-ID" in registered.headers
    second = models.PractitionerIn.from_dict({**example.to_dict(), "name": "李某某", "id_number": "150428198001010022"})
    assert api.practitioners.put_practitioner.sync_detailed(OTHER, client=client, body=second).status_code == 201

    # Score a case with a violation type of the ruleset in force, found through the client too.
    catalogue = api.scoring.list_violation_types.sync(client=client, region="150428", on=_date("2025-06-02"))
    violation = next(v for v in catalogue.violation_types if v.min_points <= 3 <= v.max_points)
    case = models.ScoreCaseIn.from_dict({
        "case_ref": "GEN-1", "basis": "agreement_handling", "decision_number": "喀医保〔2025〕1号",
        "decision_date": "2025-06-02", "institution": "H15042800001",
        "entries": [{"practitioner": CODE, "violation_type": violation.code, "points": 3}]})
    created = api.scoring.create_score_case.sync_detailed(client=client, body=case, idempotency_key="gen-1")
    assert created.status_code == 201 and isinstance(created.parsed, models.ScoreCaseOut)
    repeat = api.scoring.create_score_case.sync_detailed(client=client, body=case, idempotency_key="gen-1")
    assert repeat.status_code == 200 and repeat.headers["Idempotent-Replayed"] == "true"
    assert repeat.parsed.to_dict() == created.parsed.to_dict()

    # The standing, single and batch.
    standing = api.scoring.get_standing.sync(CODE, client=client, at="2025-12-31")
    assert isinstance(standing, models.StandingOut)
    assert (standing.points, standing.billing_allowed, standing.year) == (3, True, 2025)
    batch = api.scoring.query_standings.sync(client=client, body=models.StandingQuery(
        codes=[CODE, "D150428000999"], at="2025-12-31"))
    assert [(r.code, r.found) for r in batch.results] == [(CODE, True), ("D150428000999", False)]
    assert batch.results[0].standing.points == 3

    # Publish the notice twice (a correcting revision), download its CSV, list them a page at a time.
    notices = [api.notices.publish_notice.sync(client=client, body=models.NoticeIn(year=2025, region="150428"))
               for _ in range(2)]
    assert all(isinstance(n, models.NoticeOut) for n in notices) and notices[0].rows == 1
    download = api.notices.download_notice_csv.sync_detailed(notices[0].id, client=client)
    assert download.status_code == 200 and isinstance(download.parsed, str)
    assert download.parsed.lstrip("\ufeff").startswith("序号") and download.headers["X-Notice-SHA256"] == notices[0].sha256
    meta = api.notices.get_notice.sync(notices[0].id, client=client)
    assert isinstance(meta, models.NoticeOut) and meta.next_revision_id == notices[1].id
    first = api.notices.list_notices.sync(client=client, region="150428", limit=1)
    assert isinstance(first, models.NoticePage) and [n.id for n in first.items] == [notices[0].id]
    rest = api.notices.list_notices.sync(client=client, region="150428", limit=1, cursor=first.next_cursor)
    assert [n.id for n in rest.items] == [notices[1].id] and rest.next_cursor is None
    page = api.practitioners.list_practitioners.sync(client=client, region="150428", limit=1)
    assert [p.code for p in page.items] == [CODE] and page.next_cursor
    page = api.practitioners.list_practitioners.sync(client=client, region="150428", limit=1, cursor=page.next_cursor)
    assert [p.code for p in page.items] == [OTHER]

    # A refusal parses into the problem the document declares.
    refused = api.scoring.get_standing.sync_detailed("D150428000999", client=client)
    assert refused.status_code == 404 and isinstance(refused.parsed, models.Problem)
    assert json.loads(refused.content)["status"] == 404


def _date(text: str):
    from datetime import date

    return date.fromisoformat(text)

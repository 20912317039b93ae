"""docker-compose.yml cannot be run here (no Docker engine), so check it agrees with the code."""

import re
import shlex
from pathlib import Path

import yaml

from app.cli import build_parser
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
MAKEFILE = (ROOT / "Makefile").read_text()


def test_services_are_api_worker_and_postgres():
    assert {"api", "worker", "db"} <= set(COMPOSE["services"])


def test_postgres_is_15_or_newer_with_a_volume_and_a_health_check():
    db = COMPOSE["services"]["db"]
    image, tag = db["image"].split(":")
    assert image == "postgres" and int(tag.split(".")[0]) >= 15
    volume = db["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_api_serves_the_same_app_as_make_serve():
    command = COMPOSE["services"]["api"]["command"]
    serve = re.search(r"^serve:\n\t(.+)$", MAKEFILE, re.M).group(1)
    assert command[0] == "uvicorn" and "uvicorn" in serve
    assert command[1] == shlex.split(serve)[1] == "app.main:app"


def test_app_commands_exist_in_the_cli():
    parser = build_parser()
    for name in ("worker", "migrate"):
        command = COMPOSE["services"][name]["command"]
        assert command[:3] == ["python", "-m", "app"]
        parser.parse_args(command[3:])  # exits with an error if the subcommand is unknown
    assert "$(BIN)/python -m app worker" in MAKEFILE


def test_every_environment_variable_is_a_setting():
    fields = {f"APP_{name.upper()}" for name in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        for var in service.get("environment", {}):
            if var.startswith("APP_"):
                assert var in fields, f"{name}: {var} is not a Settings field"
    env = COMPOSE["services"]["api"]["environment"]
    assert env["APP_ENVIRONMENT"] == "production"
    assert env["APP_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_api_and_worker_wait_for_migrations():
    for name in ("api", "worker"):
        assert COMPOSE["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert COMPOSE["services"]["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_image_is_multi_stage_from_a_pinned_base():
    froms = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert len(froms) >= 2
    assert all(re.fullmatch(r"python:3\.11[\w.-]*@sha256:[0-9a-f]{64}", image) for image in froms), froms
    assert len(set(froms)) == 1  # one base, refreshed in one go


def test_image_installs_the_lock_with_hashes_then_the_wheel():
    assert "COPY requirements/runtime.txt" in DOCKERFILE
    assert "--require-hashes" in DOCKERFILE and "pip wheel" in DOCKERFILE
    assert re.search(r"pip install .*--no-deps .*\.whl", DOCKERFILE)
    assert "alembic.ini" not in DOCKERFILE  # the migrations and their configuration are in the wheel


def test_image_runs_as_a_user_and_checks_readiness_without_curl():
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    health = re.search(r"^HEALTHCHECK .*\n?.*CMD (.+)$", final, re.M)
    assert health and "/readyz" in health.group(1) and "urllib" in health.group(1) and "curl" not in final


def test_worker_has_a_health_check_the_cli_knows():
    test = COMPOSE["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "practitioner-credit"
    args = build_parser().parse_args(test[2:])
    assert args.func.__name__ == "cmd_worker_check"


def test_the_database_password_is_not_spliced_into_the_url():
    env = COMPOSE["services"]["api"]["environment"]
    assert "POSTGRES_PASSWORD" not in env["APP_DATABASE_URL"]
    assert "POSTGRES_PASSWORD" in env["APP_DATABASE_PASSWORD"]
    # what the app makes of them: a password with URL syntax in it leaves host and database alone
    settings = Settings(database_url=env["APP_DATABASE_URL"], database_password="p@ss/w:rd%#?")
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    assert (url.host, url.database, url.password) == ("db", "app", "p@ss/w:rd%#?")

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

import pytest
from pydantic import ValidationError

from app.settings import DEVELOPMENT_SECRET, Settings

PG = "postgresql+psycopg://u@db/app"


def test_defaults_are_for_a_newcomer(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("APP_DATABASE_URL", "APP_ENVIRONMENT", "APP_ID_ENCRYPTION_KEY"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    assert settings.environment == "development"
    assert settings.database_url == "sqlite:///var/app.db"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.departments == ["health", "market_regulation"]


def test_environment_and_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APP_DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text('APP_DATABASE_URL=sqlite:///x.db\nAPP_WEBHOOK_ALLOWED_HOSTS=["hooks.example.cn"]\n')
    monkeypatch.setenv("APP_TIMEZONE", "Asia/Urumqi")
    settings = Settings()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.webhook_allowed_hosts == ["hooks.example.cn"]
    assert settings.timezone == "Asia/Urumqi"


@pytest.mark.parametrize(
    ("key", "url", "message"),
    [
        (DEVELOPMENT_SECRET, PG, "APP_ID_ENCRYPTION_KEY"),
        ("short", PG, "APP_ID_ENCRYPTION_KEY"),
        ("x" * 40, "sqlite:///var/app.db", "PostgreSQL"),
    ],
)
def test_production_refuses_development_settings(key, url, message):
    with pytest.raises(ValidationError, match=message):
        Settings(environment="production", id_encryption_key=key, database_url=url)


def test_production_starts_with_real_secrets():
    assert Settings(environment="production", id_encryption_key="x" * 40, database_url=PG).environment == "production"


def test_the_app_refuses_to_start_in_production_with_the_development_secret(monkeypatch):
    import subprocess
    import sys

    env = {"APP_ENVIRONMENT": "production", "APP_ID_ENCRYPTION_KEY": DEVELOPMENT_SECRET, "APP_DATABASE_URL": PG,
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", "import app.main"], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "APP_ID_ENCRYPTION_KEY" in done.stderr


def test_departments_are_switched_on_from_the_catalogue():
    assert Settings(departments=["health", "public_security"]).department_catalog["public_security"].name == "公安局"
    with pytest.raises(ValidationError, match="tax"):
        Settings(departments=["health", "tax"])


def test_limits_are_checked_at_start_up(monkeypatch):
    monkeypatch.delenv("APP_RATE_LIMITS", raising=False)  # the suite's own, see tests/conftest.py
    with pytest.raises(ValidationError, match="APP_RATE_LIMITS: bureau"):
        Settings(rate_limits={"bureau": "plenty"})
    with pytest.raises(ValidationError, match="max_text_length"):
        Settings(max_text_length=5000)  # longer than the columns that store the text
    assert Settings(rate_limits={"checker": "100/second;5000/minute"}).rate_limits == {
        "checker": "100/second;5000/minute"}


def test_webhook_allowed_hosts_are_checked_at_start_up():
    settings = Settings(webhook_allowed_hosts=["hooks.example.cn", "127.0.0.1:8080", "[::1]:9000"])
    assert settings.webhook_allowed_hosts == ["hooks.example.cn", "127.0.0.1:8080", "[::1]:9000"]
    for bad in ("127.0.0.1:0", "::1", "hooks.example.cn:https"):
        with pytest.raises(ValidationError, match="APP_WEBHOOK_ALLOWED_HOSTS"):
            Settings(webhook_allowed_hosts=[bad])

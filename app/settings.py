"""One Settings object, read from the environment (prefix ``APP_``) and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Known, published development secret: fine on a laptop, refused in production.
DEVELOPMENT_SECRET = "development-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/app.db"
    # Master secret for personal data: the ID-number encryption key and the keyed search hash
    # are both derived from it (HKDF), so one value is rotated and guarded.
    id_encryption_key: str = DEVELOPMENT_SECRET
    # Hosts (exact names, "*.example.cn" wildcards, IP addresses or CIDR blocks) that webhook
    # endpoints may use even when they resolve to private, loopback or link-local addresses.
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    # True: endpoints may point only at the hosts above (a closed list), public or not.
    webhook_only_allowed_hosts: bool = False
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    # A claimed delivery is the worker's for this long; then another worker may take it over.
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    # Consecutive failed attempts after which an endpoint is disabled.
    webhook_disable_after_failures: int = Field(default=20, ge=1)
    # After a rotation the old secret keeps signing (beside the new one) for this long.
    webhook_secret_grace_hours: float = Field(default=24.0, ge=0)
    # Deliver from inside the API process when the database is SQLite (``make run``).
    webhook_embedded_worker: bool = True
    timezone: str = "Asia/Shanghai"
    # Region of the development bureau key created by ``make run`` on a new database.
    dev_bureau_region: str = "150000"
    # Partner departments that may hold API keys and receive referrals (configuration, not code).
    departments: list[str] = Field(default_factory=lambda: ["health", "market_regulation"])
    db_pool_size: int = 10
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            # Otherwise a slow delivery could be taken over and sent twice while still in flight.
            raise ValueError("APP_WEBHOOK_LEASE_SECONDS must be longer than APP_WEBHOOK_TIMEOUT_SECONDS")
        if self.environment == "production":
            if self.id_encryption_key == DEVELOPMENT_SECRET or len(self.id_encryption_key) < 32:
                raise ValueError(
                    "APP_ID_ENCRYPTION_KEY must be set to a secret of at least 32 characters in production"
                )
            if self.database_url.startswith("sqlite"):
                raise ValueError("production needs PostgreSQL: set APP_DATABASE_URL")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()

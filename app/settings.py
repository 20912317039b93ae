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
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"
    # Region of the development bureau key created by ``make run`` on a new database.
    dev_bureau_region: str = "150000"
    # Partner departments that may hold API keys and receive referrals (configuration, not code).
    departments: list[str] = Field(default_factory=lambda: ["health", "market_regulation"])
    db_pool_size: int = 10
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> Settings:
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

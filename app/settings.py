"""One Settings object, read from the environment (prefix ``APP_``) and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Known, published development secret: fine on a laptop, refused in production.
DEVELOPMENT_SECRET = "development-only-secret-change-me"


class Department(BaseModel):
    """A partner department that referrals can go to and come from."""

    name: str  # Chinese name, as it appears in reports
    # Clue categories it takes (and sends): a referral of another category is refused.
    clue_categories: list[str]
    # Practitioner categories whose suspension or termination it is notified of (联合惩戒).
    notified_of_sanctions: list[str] = Field(default_factory=list)


_EVERY_PRACTITIONER = ["physician", "nurse", "pharmacist", "technician", "billing_reviewer", "pharmacy_manager", "other"]


def _department_catalog() -> dict[str, Department]:
    return {
        "health": Department(name="卫生健康委员会", clue_categories=[
            "licence_renting", "unlicensed_practice", "medical_conduct", "joint_sanction", "other"],
            notified_of_sanctions=_EVERY_PRACTITIONER),
        "market_regulation": Department(name="市场监督管理局", clue_categories=[
            "licence_renting", "pricing", "drug_traceability", "joint_sanction", "other"],
            notified_of_sanctions=["pharmacist", "pharmacy_manager"]),
        "public_security": Department(name="公安局", clue_categories=["fraud", "other"]),
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/app.db"
    # The password for database_url, given apart (docker-compose.yml passes POSTGRES_PASSWORD here):
    # put into the URL escaped, so an "@", "/", ":" or "%" in it cannot change the host or database.
    database_password: SecretStr | None = None
    # The worker touches this file every round; `worker check` reads it (compose's health check).
    worker_heartbeat_file: str = "/tmp/practitioner-credit-worker.heartbeat"
    # Master secret for personal data: the ID-number encryption key and the keyed search hash
    # are both derived from it (HKDF), so one value is rotated and guarded.
    id_encryption_key: str = DEVELOPMENT_SECRET
    # Masters being rotated out: they still decrypt and still find until `python -m app secrets
    # rekey` has rewritten every stored value under the current one (app/kit/keyring.py).
    id_encryption_previous_keys: list[str] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (IP addresses or CIDR
    # blocks). Empty: no forwarding header is believed, and the client is the peer of the socket.
    # The server is started with --no-proxy-headers so that this is the one place that decides.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Hosts and ports ("receiver.local:8443", "*.example.cn", "10.1.0.0/16:8080", "[::1]:9000";
    # no port: 443 for https, 80 for http only) that webhook endpoints may use even when they
    # resolve to private, loopback or link-local addresses, and over plain http. The port is
    # part of an entry so that allowing a receiver's host does not open every service on it.
    # In development (environment "development") localhost and loopback addresses are allowed on
    # every port without an entry, for a receiver on the same machine; not in test or production.
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    # True: endpoints may point only at the hosts and ports above (a closed list), public or not.
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
    # What each department code means; ``departments`` switches them on.
    department_catalog: dict[str, Department] = Field(default_factory=_department_catalog)
    # Referral time limits (docs/api/referrals.md, "Deadlines"): receipt and filing decision in Chinese
    # working days, conclusion in calendar days from filing.
    referral_receipt_working_days: int = Field(default=5, ge=1)
    referral_filing_working_days: int = Field(default=15, ge=1)
    referral_extension_working_days: int = Field(default=15, ge=1)
    referral_conclusion_days: int = Field(default=90, ge=1)
    # Connections kept open per process; as many again may be opened for a burst, but each of
    # those is closed when returned. 10 kept 16 concurrent score cases reconnecting: 51 database
    # backends started in six seconds of the ingest benchmark, against 16 with 20.
    db_pool_size: int = Field(default=20, ge=1)
    # PostgreSQL connections per event loop (per worker) that serve the standing check outside the
    # pool above (app/kit/hotread.py); more overlap more round trips to a distant database.
    hot_read_connections: int = Field(default=4, ge=1, le=64)
    # Seconds an authenticated key is remembered per process (0: ask the database every time).
    # A key revoked with the CLI stops working on running servers within this time.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Workbench (server-rendered pages for staff): a session ends after this long without a
    # request, and in any case this long after sign-in.
    workbench_session_idle_minutes: int = Field(default=60, ge=1)
    workbench_session_max_hours: int = Field(default=12, ge=1)
    # Sign-in back-off: after this many failures in a row for one user name (or, higher, from
    # one client address) sign-in is locked for the first delay, doubling with every further
    # failure up to the maximum. Failures older than the window, with no lock running, are forgotten.
    workbench_lockout_after: int = Field(default=5, ge=1)
    workbench_address_lockout_after: int = Field(default=20, ge=1)
    workbench_lockout_seconds: int = Field(default=30, ge=1)
    workbench_lockout_max_seconds: int = Field(default=3600, ge=1)
    workbench_failure_window_minutes: int = Field(default=15, ge=1)
    # --- Limits (docs/api/limits.md) ---
    # Largest request body in bytes: a larger one is refused with 413 before it is read whole.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Largest stream of score cases (POST /v1/score-cases/bulk), in bytes; each of its lines is
    # held to max_body_bytes. The stream is spooled to a temporary file, not held in memory.
    max_bulk_body_bytes: int = Field(default=268_435_456, ge=1024)
    # Largest page a list endpoint returns (its ``limit`` query parameter).
    max_page_size: int = Field(default=500, ge=1, le=10_000)
    # Most codes in one POST /v1/standings/query, most entries in one score case.
    max_batch_size: int = Field(default=1000, ge=1, le=10_000)
    # Free text (defences, appeals, statements, referral summaries) and reasons (decisions,
    # reversals, referral steps), in characters. Never above the size of their columns.
    max_text_length: int = Field(default=4000, ge=1, le=4000)
    max_reason_length: int = Field(default=2000, ge=1, le=2000)
    # Requests per API client per process, by role, in the notation of the ``limits`` library
    # ("100/second", several joined by ";"). A role left out is not limited. With N processes a
    # client may send N times this. Settlement systems (checker) check every claim: keep theirs high.
    rate_limits: dict[Literal["bureau", "partner", "checker", "admin"], str] = Field(default_factory=lambda: {
        "bureau": "100/second", "partner": "20/second", "checker": "1000/second", "admin": "10/second"})
    # Seconds a stopping worker waits for a webhook call in flight before it releases the claim.
    worker_shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    # --- Ledger checkpoints (docs/ledger.md) ---
    # Ed25519 private key that signs the checkpoints of every chain head: base64 of its 32 bytes
    # (``python -m app ledger keygen``) or PEM. Kept outside the database: whoever can write the
    # database can recompute every row hash, but cannot sign. Only the worker and the CLI need it.
    # Unset (development): no checkpoint is written and ``ledger verify`` exits 2.
    ledger_signing_key: SecretStr | None = None
    # The same key read from a file (a mounted secret), when APP_LEDGER_SIGNING_KEY is unset.
    ledger_signing_key_file: Path | None = None
    # Public keys (base64 or PEM) that verify checkpoints, besides the signing key's own: the keys
    # retired by rotations, whose checkpoints stay verifiable, or every key for a verifier that
    # holds no private key.
    ledger_public_keys: list[str] = Field(default_factory=list)
    # The worker writes a checkpoint when the latest is this old, and soon after a notice is published.
    ledger_checkpoint_minutes: float = Field(default=60, gt=0)
    log_level: str = "INFO"
    # One JSON line per request (method, route template, status, duration, principal, request id).
    request_log: bool = True

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits_parse(cls, value: dict[str, str]) -> dict[str, str]:
        from limits import parse_many

        for role, spec in value.items():
            try:
                parse_many(spec)
            except ValueError:
                raise ValueError(f"APP_RATE_LIMITS: {role}: {spec!r} is not a rate limit like '100/second'") from None
        return value

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _webhook_allowed_hosts_parse(cls, value: list[str]) -> list[str]:
        # Refused at start-up rather than skipped at delivery: a typo must not silently allow
        # less, and an IPv6 address without brackets must not be guessed at.
        from app.webhooks.urlsafety import allowed_entry

        for entry in value:
            try:
                allowed_entry(entry)
            except ValueError as exc:
                raise ValueError(f"APP_WEBHOOK_ALLOWED_HOSTS: {entry!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _database_password_into_url(self) -> Settings:
        if self.database_password is not None and self.database_password.get_secret_value():
            from sqlalchemy.engine import make_url

            url = make_url(self.database_url).set(password=self.database_password.get_secret_value())
            self.database_url = url.render_as_string(hide_password=False)
        return self

    @model_validator(mode="after")
    def _departments_are_known(self) -> Settings:
        unknown = [d for d in self.departments if d not in self.department_catalog]
        if unknown:
            raise ValueError(f"APP_DEPARTMENTS names departments not in APP_DEPARTMENT_CATALOG: {', '.join(unknown)}")
        return self

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

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class ApiClient(SQLModel, table=True):
    __tablename__ = "api_clients"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    region: str = Field(max_length=6)
    department: str | None = Field(default=None, max_length=40)
    # SHA-256 of the key: keys are 256-bit random tokens, so a fast hash is enough and keeps
    # authentication to one indexed lookup. The key itself is never stored.
    key_hash: str = Field(max_length=64, unique=True)
    key_prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None

"""Workbench tables: people who sign in, their sessions, and the sign-in failure counters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.kit.timeutil import utcnow


class WorkbenchUser(SQLModel, table=True):
    """A person, with the same role and region scope an API client would have."""

    __tablename__ = "workbench_users"

    id: int | None = Field(default=None, primary_key=True)
    # What the person types to sign in; also the name on the audit trail and in the history.
    name: str = Field(max_length=100, unique=True)
    role: str = Field(max_length=20)
    region: str = Field(max_length=6)
    department: str | None = Field(default=None, max_length=40)
    password_hash: str = Field(max_length=200)  # argon2id, with its parameters and salt
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None


class WorkbenchSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the table cannot be replayed, and ending a session here ends it for real."""

    __tablename__ = "workbench_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="workbench_users.id", index=True)
    csrf_token: str = Field(max_length=64)  # echoed by every form of this session
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None  # signed out, or ended with the user's password or account


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per key (``name:<user name>`` or ``address:<client address>``), and the
    lock they earned. Kept for names that do not exist too, so a probe learns nothing."""

    __tablename__ = "workbench_sign_in_throttle"

    key: str = Field(max_length=160, primary_key=True)
    failures: int = 0
    last_failure_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None

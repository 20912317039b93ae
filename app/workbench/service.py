"""Workbench users, sign-in with back-off, and sessions.

A user is checked against the same rules as an API client (role, region, department), acts as a
``Caller`` of kind ``user``, and so meets the same scope rules in every domain service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi_problem.error import StatusProblem
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from app import audit
from app.auth.roles import Caller, Role
from app.auth.service import validate_client_fields
from app.kit import timeutil
from app.kit.errors import Conflict, Invalid, NotFound
from app.kit.messages import t
from app.settings import get_settings
from app.workbench import rules
from app.workbench.models import SignInThrottle, WorkbenchSession, WorkbenchUser

# The roles that have pages: checkers and admins work through the API and the command line.
USER_ROLES = (Role.bureau, Role.partner)
# A session's last request is written at most this often: a page view is a read, not a write.
TOUCH_EVERY = timedelta(minutes=1)

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 parameters


class SignInRefused(StatusProblem):
    status = 401
    title = "Sign-in refused"
    type_ = "sign-in-refused"


class SignInLocked(StatusProblem):
    """Too many failed sign-ins: ``retry_after`` seconds until the next attempt is heard."""

    status = 429
    title = "Too many failed sign-ins"
    type_ = "sign-in-locked"


# ---------------------------------------------------------------- users


def caller_of(user: WorkbenchUser) -> Caller:
    """The signed-in person as the services know callers: same role and scope as a client."""
    return Caller(client_id=user.id, name=user.name, role=Role(user.role), region=user.region,
                  department=user.department, kind="user")


def _check_password(password: str, field: str = "password") -> None:
    problem = rules.password_problem(password)
    if problem is not None:
        raise Invalid(t("The password {problem}", problem=problem), field=field)


def create_user(session: Session, *, role: str, region: str, name: str, password: str,
                department: str | None = None, actor: Caller | None = None) -> WorkbenchUser:
    """A new user who signs in with ``name`` and ``password``. Commits."""
    validate_client_fields(role, region, department, name)
    if role not in USER_ROLES:
        raise Invalid(t("Workbench users are bureau or partner staff"), field="role")
    _check_password(password)
    user = WorkbenchUser(name=name.strip(), role=role, region=region, department=department,
                         password_hash=_hasher.hash(password), created_at=timeutil.utcnow())
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(t("A workbench user named {name} already exists", name=name.strip())) from None
    audit.record(session, actor, "workbench_user.create", "workbench_user", user.id, region,
                 {"name": user.name, "role": role, "department": department})
    session.commit()
    return user


def list_users(session: Session) -> list[WorkbenchUser]:
    return list(session.exec(select(WorkbenchUser).order_by(WorkbenchUser.id)))


def users_by_id(session: Session, user_ids: set[int]) -> list[WorkbenchUser]:
    if not user_ids:
        return []
    return list(session.exec(select(WorkbenchUser).where(col(WorkbenchUser.id).in_(user_ids))))


def count_users(session: Session) -> int:
    return len(session.exec(select(WorkbenchUser.id)).all())


def _user(session: Session, user_id: int) -> WorkbenchUser:
    user = session.exec(select(WorkbenchUser).where(WorkbenchUser.id == user_id).with_for_update()).first()
    if user is None:
        raise NotFound(t("No workbench user {user_id}", user_id=user_id))
    return user


def _end_sessions(session: Session, user_id: int, now: datetime) -> None:
    session.exec(update(WorkbenchSession)
                 .where(WorkbenchSession.user_id == user_id, col(WorkbenchSession.ended_at).is_(None))
                 .values(ended_at=now))


def disable_user(session: Session, user_id: int, actor: Caller | None = None) -> WorkbenchUser:
    """The user can no longer sign in; their open sessions end now. Commits."""
    user, now = _user(session, user_id), timeutil.utcnow()
    if user.disabled_at is None:
        user.disabled_at = now
        session.add(user)
        _end_sessions(session, user.id, now)
        audit.record(session, actor, "workbench_user.disable", "workbench_user", user.id, user.region,
                     {"name": user.name})
        session.commit()
    return user


def set_password(session: Session, user_id: int, password: str, actor: Caller | None = None) -> WorkbenchUser:
    """A new password (an operator's reset): open sessions end and the sign-in lock lifts. Commits."""
    _check_password(password)
    user, now = _user(session, user_id), timeutil.utcnow()
    user.password_hash = _hasher.hash(password)
    session.add(user)
    _end_sessions(session, user.id, now)
    throttle = session.get(SignInThrottle, _name_key(user.name))
    if throttle is not None:
        session.delete(throttle)
    audit.record(session, actor, "workbench_user.set_password", "workbench_user", user.id, user.region,
                 {"name": user.name})
    session.commit()
    return user


# ---------------------------------------------------------------- sign-in


def _name_key(name: str) -> str:
    return f"name:{name.strip()[:100]}"


def _address_key(address: str) -> str:
    return f"address:{address[:100]}"


def _backoffs() -> dict[str, rules.Backoff]:
    s = get_settings()
    first, longest = timedelta(seconds=s.workbench_lockout_seconds), timedelta(seconds=s.workbench_lockout_max_seconds)
    window = timedelta(minutes=s.workbench_failure_window_minutes)
    return {"name": rules.Backoff(s.workbench_lockout_after, first, longest, window),
            "address": rules.Backoff(s.workbench_address_lockout_after, first, longest, window)}


@lru_cache
def _decoy_hash() -> str:
    # Verified against when the name is unknown, so an unknown name costs what a wrong password does.
    return _hasher.hash(rules.new_password())


def _locked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    rows = session.exec(select(SignInThrottle).where(col(SignInThrottle.key).in_(keys))).all()
    locks = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(locks) if locks else None


def _locked(until: datetime, now: datetime) -> SignInLocked:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    return SignInLocked(f"Too many failed sign-ins: try again in {seconds} seconds", retry_after=seconds,
                        headers={"Retry-After": str(seconds)})


def _lock_rows(session: Session, keys: list[str], now: datetime) -> dict[str, SignInThrottle]:
    """The throttle rows of ``keys``, created if missing, locked for this transaction."""
    dialect = session.get_bind().dialect.name
    # The dialect's own INSERT (for ON CONFLICT), imported when used: a start-up imports only the
    # dialect of its database (the other's modules were ~12-45 ms of CPU).
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for key in sorted(keys):
        session.exec(insert(SignInThrottle).values(key=key, failures=0, last_failure_at=now)
                     .on_conflict_do_nothing())
    rows = session.exec(select(SignInThrottle).where(col(SignInThrottle.key).in_(keys))
                        .order_by(SignInThrottle.key).with_for_update()).all()
    return {r.key: r for r in rows}


@dataclass(frozen=True)
class SignedIn:
    user: WorkbenchUser
    token: str  # for the cookie; only its hash is stored
    csrf_token: str


def sign_in(session: Session, name: str, password: str, address: str) -> SignedIn:
    """Check the password and open a session. Commits.

    Refused (401) for a wrong password, an unknown or disabled user alike; refused without
    looking at the password (429 with ``retry_after``) while the name or the address is locked.
    The password is verified outside any transaction: hashing takes tens of milliseconds and
    must not hold the write lock.
    """
    name = name.strip()
    keys = {"name": _name_key(name), "address": _address_key(address)}
    now = timeutil.utcnow()
    until = _locked_until(session, list(keys.values()), now)
    found = session.exec(select(WorkbenchUser.id, WorkbenchUser.password_hash)
                         .where(WorkbenchUser.name == name)).first() if name else None
    session.rollback()  # end the read before hashing
    if until is not None:
        raise _locked(until, now)
    good = _verify(found.password_hash if found else _decoy_hash(), password)

    now = timeutil.utcnow()
    throttles = _lock_rows(session, list(keys.values()), now)
    user = session.get(WorkbenchUser, found.id) if found else None
    # A password reset or a disabling that committed while we were hashing wins.
    good = good and user is not None and user.disabled_at is None and user.password_hash == found.password_hash
    until = _locked_until(session, list(keys.values()), now)
    if until is not None:  # failures recorded by a parallel attempt locked us out meanwhile
        session.rollback()
        raise _locked(until, now)
    if not good:
        backoffs = _backoffs()
        for which, key in keys.items():
            row, backoff = throttles[key], backoffs[which]
            row.failures = backoff.counts_from(row.failures, row.last_failure_at, row.locked_until, now) + 1
            row.last_failure_at = now
            lock = backoff.lock_for(row.failures)
            row.locked_until = now + lock if lock is not None else row.locked_until
            session.add(row)
        if user is not None:
            audit.record(session, caller_of(user), "workbench_user.sign_in_failed", "workbench_user", user.id,
                         user.region, {"address": address})
        session.commit()
        raise SignInRefused("Wrong user name or password")
    session.delete(throttles[keys["name"]])
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    token, csrf = rules.new_token(), rules.new_token()
    session.add(WorkbenchSession(token_hash=rules.hash_token(token), user_id=user.id, csrf_token=csrf,
                                 created_at=now, last_seen_at=now))
    audit.record(session, caller_of(user), "workbench_user.sign_in", "workbench_user", user.id, user.region,
                 {"address": address})
    session.commit()
    return SignedIn(user, token, csrf)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Current:
    """The signed-in user of a request and their session."""

    user: WorkbenchUser
    session_id: int
    csrf_token: str

    @property
    def caller(self) -> Caller:
        return caller_of(self.user)


def current(session: Session, token: str) -> tuple[Current, bool] | None:
    """(the session's user, whether its last-seen time is due a write), or None when the token
    is unknown, signed out, idle too long, too old, or its user disabled."""
    settings, now = get_settings(), timeutil.utcnow()
    found = session.exec(
        select(WorkbenchSession, WorkbenchUser).join(WorkbenchUser, WorkbenchUser.id == WorkbenchSession.user_id)
        .where(WorkbenchSession.token_hash == rules.hash_token(token))
    ).first()
    if found is None:
        return None
    ws, user = found
    if (ws.ended_at is not None or user.disabled_at is not None
            or now - ws.last_seen_at >= timedelta(minutes=settings.workbench_session_idle_minutes)
            or now - ws.created_at >= timedelta(hours=settings.workbench_session_max_hours)):
        return None
    return Current(user, ws.id, ws.csrf_token), now - ws.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int) -> None:
    """Record a request on the session (keeps it from idling out). Commits."""
    session.exec(update(WorkbenchSession).where(WorkbenchSession.id == session_id)
                 .values(last_seen_at=timeutil.utcnow()))
    session.commit()


def sign_out(session: Session, signed_in: Current) -> None:
    """End the session: its token is refused from now on. Commits."""
    ws = session.get(WorkbenchSession, signed_in.session_id)
    if ws is not None and ws.ended_at is None:
        ws.ended_at = timeutil.utcnow()
        session.add(ws)
        audit.record(session, signed_in.caller, "workbench_user.sign_out", "workbench_user", signed_in.user.id,
                     signed_in.user.region, {})
        session.commit()

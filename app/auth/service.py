"""API client management and key authentication."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import audit
from app.auth.keys import display_prefix, hash_key, new_key
from app.auth.models import ApiClient
from app.auth.roles import Caller, Role
from app.kit.errors import Invalid, NotFound, field_error
from app.kit.messages import t
from app.kit.timeutil import utcnow
from app.settings import get_settings
from app.shared import regions


def validate_client_fields(role: str, region: str, department: str | None, name: str) -> None:
    errors = []
    if role not in Role.__members__:
        errors.append(field_error("role", t("must be one of {choices}", choices=list(Role))))
    if not regions.is_valid_region(region):
        errors.append(field_error("region", t("not a GB/T 2260 division code")))
    departments = get_settings().departments
    if role == Role.partner and department not in departments:
        errors.append(field_error("department", t("a partner needs one of {departments}", departments=list(departments))))
    if role != Role.partner and department is not None:
        errors.append(field_error("department", t("only partner clients have a department")))
    if not name.strip():
        errors.append(field_error("name", t("must not be empty")))
    if errors:
        raise Invalid(t("Invalid API client"), errors=errors)


def create_client(
    session: Session, *, role: str, region: str, name: str, department: str | None = None,
    actor: Caller | None = None,
) -> tuple[ApiClient, str]:
    """Create a client; returns it with its key, which exists only in this return value."""
    validate_client_fields(role, region, department, name)
    key = new_key()
    client = ApiClient(
        name=name.strip(),
        role=role,
        region=region,
        department=department,
        key_hash=hash_key(key),
        key_prefix=display_prefix(key),
    )
    session.add(client)
    session.flush()
    audit.record(session, actor, "api_client.create", "api_client", client.id, region, {
        "name": client.name, "role": role, "department": department, "key_prefix": client.key_prefix})
    session.commit()
    return client, key


def revoke_client(session: Session, client_id: int, actor: Caller | None = None) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFound(t("No API client {client_id}", client_id=client_id))
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.add(client)
        audit.record(session, actor, "api_client.revoke", "api_client", client.id, client.region,
                     {"name": client.name, "key_prefix": client.key_prefix})
        session.commit()
    forget_client(client_id)
    return client


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.exec(select(ApiClient).order_by(ApiClient.id)))


def names_of(session: Session, client_ids: set[int]) -> dict[int, str]:
    """Client names by id, for showing who took a step."""
    if not client_ids:
        return {}
    return dict(session.exec(select(ApiClient.id, ApiClient.name).where(col(ApiClient.id).in_(client_ids))).all())


def count_clients(session: Session) -> int:
    return len(session.exec(select(ApiClient.id)).all())


# Authenticated callers by key hash, per process, for ``auth_cache_seconds``: the per-claim
# standing check then costs one database round trip instead of two. A key revoked from another
# process (the CLI) stops working within that time; a revocation in this process at once.
_callers: dict[str, tuple[float, Caller]] = {}
_CACHE_LIMIT = 10_000


def cached_caller(key: str, now: float) -> Caller | None:
    hit = _callers.get(hash_key(key))
    return hit[1] if hit is not None and hit[0] > now else None


def remember_caller(key: str, caller: Caller, until: float) -> None:
    if len(_callers) >= _CACHE_LIMIT:
        _callers.clear()
    _callers[hash_key(key)] = (until, caller)


def forget_client(client_id: int) -> None:
    for digest, (_, caller) in list(_callers.items()):
        if caller.client_id == client_id:
            _callers.pop(digest, None)


def authenticate(session: Session, key: str) -> Caller | None:
    client = session.exec(select(ApiClient).where(ApiClient.key_hash == hash_key(key))).first()
    if client is None or client.revoked_at is not None:
        return None
    return Caller(
        client_id=client.id,
        name=client.name,
        role=Role(client.role),
        region=client.region,
        department=client.department,
    )

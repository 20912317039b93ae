"""Registry operations. Every read and write is confined to the caller's region."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import audit
from app.auth.roles import Caller
from app.kit.errors import Conflict, Invalid, NotFound, field_error
from app.kit.messages import t
from app.kit.timeutil import utcnow
from app.practitioners import identity
from app.practitioners.models import Institution, Practitioner, PractitionerInstitution
from app.practitioners.schemas import InstitutionOut, InstitutionRecordIn, PractitionerIn, PractitionerOut
from app.shared import events, feed, regions


def find(session: Session, code: str, *, for_update: bool = False) -> Practitioner | None:
    stmt = select(Practitioner).where(Practitioner.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def get_in_scope(session: Session, caller: Caller, code: str, *, for_update: bool = False) -> Practitioner:
    """The practitioner if it exists inside the caller's region; 404 otherwise (no leak)."""
    practitioner = find(session, code, for_update=for_update)
    if practitioner is None or not caller.covers(practitioner.region):
        raise NotFound(t("No practitioner {code} in your region", code=code))
    return practitioner


def put_practitioner(session: Session, caller: Caller, code: str, data: PractitionerIn) -> tuple[Practitioner, bool]:
    """Register (created=True) or update a practitioner; commits. ``code`` is already validated."""
    try:
        result = _put(session, caller, code, data)
        session.commit()
        return result
    except IntegrityError:
        # A concurrent PUT created the same code first: ours becomes an update.
        session.rollback()
        result = _put(session, caller, code, data)
        session.commit()
        return result


def _put(session: Session, caller: Caller, code: str, data: PractitionerIn) -> tuple[Practitioner, bool]:
    vault = identity.get_vault()
    practitioner = find(session, code, for_update=True)
    created = practitioner is None
    if not created and not caller.covers(practitioner.region):
        raise NotFound(t("No practitioner {code} in your region", code=code))
    # A move (to another province, say) is made by the bureau of the home region the person
    # leaves; their ledger, sanctions and bars follow them, as they belong to the person.
    moved_from = practitioner.region if not created and practitioner.region != data.region else None
    if created and not caller.covers(data.region):
        raise Invalid(t("Region {region} is outside your region {caller_region}", region=data.region, caller_region=caller.region), field="body.region")
    if created:
        practitioner = Practitioner(code=code, registered_on=data.registered_on)
    else:
        if practitioner.registered_on != data.registered_on:
            raise Conflict(
                t("registered_on is fixed at first registration ({registered_on}); a new registration after a termination is recorded as a registration, not by PUT", registered_on=practitioner.registered_on)
            )
    id_hash = vault.search_hash(data.id_number)
    changed_fields = _changed_fields(practitioner, data, vault.search_hashes(data.id_number)) if not created else ["all"]
    changed = bool(changed_fields)
    if changed:
        practitioner.name = data.name
        if practitioner.id_number_hash != id_hash:
            practitioner.id_number_encrypted = vault.encrypt(data.id_number)
            practitioner.id_number_hash = id_hash
            practitioner.id_number_masked = identity.mask_id_number(data.id_number)
        practitioner.category = data.category.value
        practitioner.region = data.region
        practitioner.updated_at = utcnow()
        session.add(practitioner)
        session.flush()
    if _replace_institutions(session, caller, practitioner, data):
        changed_fields.append("institutions")
        if not changed:
            practitioner.updated_at = utcnow()
            session.add(practitioner)
    if changed_fields:
        audit.record(session, caller, "practitioner.register" if created else "practitioner.update",
                     "practitioner", code, practitioner.region, {"fields": changed_fields})
    if created or moved_from is not None:
        # Found by a standing check from now on, or answered under another region's rulesets: mirrors hear of it.
        feed.record(session.connection(), [practitioner.id])
    if moved_from is not None:
        audit.record(session, caller, "practitioner.move", "practitioner", code, moved_from,
                     {"from": moved_from, "to": practitioner.region})
        events.emit(session, "practitioner.moved", subject=code, region=moved_from, also_region=practitioner.region,
                    data={"practitioner": code, "from": moved_from, "to": practitioner.region})
    return practitioner, created


def _changed_fields(p: Practitioner, data: PractitionerIn, id_hashes: list[str]) -> list[str]:
    """The names of the fields a PUT changes (names only: the audit trail never holds an ID number).
    ``id_hashes``: the number's index values under every master in use (a rotation may be under way)."""
    now = {"name": data.name, "category": data.category.value, "region": data.region}
    before = {"name": p.name, "category": p.category, "region": p.region}
    changed = [field for field in now if now[field] != before[field]]
    return changed + ([] if p.id_number_hash in id_hashes else ["id_number"])


def _replace_institutions(session: Session, caller: Caller, practitioner: Practitioner, data: PractitionerIn) -> bool:
    """Set the practitioner's links to institutions; True when anything changed.

    An institution belongs to the region its code names: a practitioner's registration links to it
    and never renames it (a name that differs is refused), and registers a missing one only when it
    lies in the caller's region; one of another region is registered by that region first."""
    wanted = {inst.code: (i, inst) for i, inst in enumerate(data.institutions)}
    existing = {row.code: row for row in session.exec(select(Institution).where(col(Institution.code).in_(list(wanted))))}
    errors = []
    for code, (i, inst) in wanted.items():
        row = existing.get(code)
        if row is None:
            region = identity.institution_region(code)
            if not caller.covers(region):
                errors.append(field_error(f"body.institutions.{i}.code",
                                          t("{code} is not registered: the bureau of region {region} registers it first", code=code, region=region)))
            else:
                session.add(Institution(code=code, name=inst.name, region=region))
        elif inst.name and row.name and inst.name != row.name:
            errors.append(field_error(f"body.institutions.{i}.name",
                                      t("{code} is registered as {name}; rename it in the institution registry", code=code, name=repr(row.name))))
        elif inst.name and not row.name and caller.covers(row.region):
            row.name = inst.name  # the first name its own region gives it
            session.add(row)
    if errors:
        raise Invalid(t("Institutions not acceptable; nothing was recorded"), errors=errors)
    changed = any(code not in existing for code in wanted)
    links = session.exec(
        select(PractitionerInstitution).where(PractitionerInstitution.practitioner_id == practitioner.id)
    ).all()
    have = {link.institution_code for link in links}
    for link in links:
        if link.institution_code not in wanted:
            session.delete(link)
            changed = True
    for code in wanted.keys() - have:
        session.add(PractitionerInstitution(practitioner_id=practitioner.id, institution_code=code))
        changed = True
    session.flush()
    return changed


# ---------------------------------------------------------------- the institution registry


def put_institution(session: Session, caller: Caller, code: str, body: InstitutionRecordIn) -> tuple[Institution, bool]:
    """Register or rename an institution (created?); only the bureau of its region, or above. Commits."""
    region = identity.institution_region(code)
    if not caller.covers(region):
        raise NotFound(t("No institution {code} in your region", code=code))
    row = session.get(Institution, code, with_for_update=True)
    created = row is None
    if created:
        row = Institution(code=code, name=body.name, region=region)
    elif row.name == body.name:
        return row, False
    before = None if created else row.name
    row.name = body.name
    session.add(row)
    audit.record(session, caller, "institution.register" if created else "institution.rename", "institution", code,
                 region, {"name": body.name, "before": before})
    session.commit()
    return row, created


def get_institution(session: Session, caller: Caller, code: str) -> Institution:
    row = session.get(Institution, code)
    if row is None or not caller.covers(row.region):
        raise NotFound(t("No institution {code} in your region", code=code))
    return row


def list_institutions(session: Session, caller: Caller, *, region: str | None, limit: int,
                      cursor: str | None) -> tuple[list[Institution], str | None]:
    region = region or caller.region
    if not caller.covers(region):
        raise Invalid(t("Region {region} is outside your region {caller_region}", region=region, caller_region=caller.region), field="query.region")
    stmt = select(Institution).where(regions.within(Institution.region, region))
    if cursor:
        stmt = stmt.where(Institution.code > cursor)
    rows = session.exec(stmt.order_by(Institution.code).limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].code if len(rows) > limit else None)


def reference_problems(session: Session, region: str, practitioners: Sequence[str], institutions: Sequence[str],
                       where: str) -> list[dict]:
    """Codes named in a record of ``region`` (a referral, an outcome) that it may not name: a
    practitioner must be registered, with their home in the region or working at an institution in
    it; an institution must be registered in the region. ``where``: the body path of the lists."""
    errors = []
    people = {p.code: p for p in session.exec(select(Practitioner).where(col(Practitioner.code).in_(list(practitioners))))}
    working_here: set[int] = set()
    if people:
        working_here = set(session.exec(
            select(PractitionerInstitution.practitioner_id)
            .join(Institution, Institution.code == PractitionerInstitution.institution_code)
            .where(col(PractitionerInstitution.practitioner_id).in_([p.id for p in people.values()]),
                   regions.within(Institution.region, region))).all())
    for i, code in enumerate(practitioners):
        person = people.get(code)
        if person is None:
            errors.append(field_error(f"{where}.practitioners.{i}", t("no practitioner {code} is registered", code=code)))
        elif not (regions.covers(region, person.region) or person.id in working_here):
            errors.append(field_error(f"{where}.practitioners.{i}",
                                      t("{code} neither lives nor works in region {region}", code=code, region=region)))
    known = set(session.exec(select(Institution.code).where(col(Institution.code).in_(list(institutions)))).all())
    for i, code in enumerate(institutions):
        if code not in known:
            errors.append(field_error(f"{where}.institutions.{i}", t("no institution {code} is registered", code=code)))
        elif not regions.covers(region, identity.institution_region(code)):
            errors.append(field_error(f"{where}.institutions.{i}", t("the institution is outside region {region}", region=region)))
    return errors


_WORKING = PractitionerInstitution.__table__
_WORKING_PAIRS = (
    select(_WORKING.c.institution_code, _WORKING.c.practitioner_id)
    .where(_WORKING.c.institution_code.in_(bindparam("institutions", expanding=True)),
           _WORKING.c.practitioner_id.in_(bindparam("people", expanding=True)))
)


def working_pairs(session: Session, institutions: Sequence[str], practitioner_ids: Sequence[int]) -> set[tuple[str, int]]:
    """Which of these practitioners work at which of these institutions (multi-site practice
    included), as (institution, practitioner id) pairs, in one query."""
    if not practitioner_ids or not institutions:
        return set()
    rows = session.connection().execute(
        _WORKING_PAIRS, {"institutions": sorted(set(institutions)), "people": sorted(set(practitioner_ids))})
    return {(institution, person) for institution, person in rows}


def institutions_of(session: Session, practitioner_ids: Sequence[int]) -> dict[int, list[Institution]]:
    if not practitioner_ids:
        return {}
    rows = session.exec(
        select(PractitionerInstitution.practitioner_id, Institution)
        .join(Institution, Institution.code == PractitionerInstitution.institution_code)
        .where(col(PractitionerInstitution.practitioner_id).in_(practitioner_ids))
        .order_by(Institution.code)
    ).all()
    out: dict[int, list[Institution]] = defaultdict(list)
    for pid, inst in rows:
        out[pid].append(inst)
    return out


def to_out(practitioner: Practitioner, institutions: list[Institution]) -> PractitionerOut:
    return PractitionerOut(
        code=practitioner.code,
        name=practitioner.name,
        id_number_masked=practitioner.id_number_masked,
        category=practitioner.category,
        region=practitioner.region,
        region_name=regions.division_name(practitioner.region),
        institutions=[InstitutionOut(code=i.code, name=i.name, region=i.region) for i in institutions],
        registered_on=practitioner.registered_on,
        created_at=practitioner.created_at,
        updated_at=practitioner.updated_at,
    )


def describe(session: Session, practitioners: Sequence[Practitioner]) -> list[PractitionerOut]:
    insts = institutions_of(session, [p.id for p in practitioners])
    return [to_out(p, insts.get(p.id, [])) for p in practitioners]


def list_practitioners(
    session: Session,
    caller: Caller,
    *,
    region: str | None = None,
    institution: str | None = None,
    category: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Practitioner], str | None]:
    """Keyset-paged by code, so a page costs the same at any depth."""
    region = region or caller.region
    if not caller.covers(region):
        raise Invalid(t("Region {region} is outside your region {caller_region}", region=region, caller_region=caller.region), field="query.region")
    stmt = select(Practitioner).where(regions.within(Practitioner.region, region))
    if institution:
        stmt = stmt.where(
            col(Practitioner.id).in_(
                select(PractitionerInstitution.practitioner_id).where(
                    PractitionerInstitution.institution_code == institution
                )
            )
        )
    if category:
        stmt = stmt.where(Practitioner.category == category)
    if cursor:
        stmt = stmt.where(Practitioner.code > cursor)
    rows = list(session.exec(stmt.order_by(Practitioner.code).limit(limit + 1)))
    next_cursor = rows[limit - 1].code if len(rows) > limit else None
    return rows[:limit], next_cursor


def search_by_id_number(session: Session, caller: Caller, id_number: str) -> list[Practitioner]:
    """Exact search by ID number. Every search is audited, a hit once per person found; the
    number itself is never stored in the trail."""
    digests = identity.get_vault().search_hashes(id_number)
    rows = session.exec(select(Practitioner).where(col(Practitioner.id_number_hash).in_(digests))
                        .order_by(Practitioner.code))
    found = [p for p in rows if caller.covers(p.region)]
    for p in found:
        audit.record(session, caller, "practitioner.id_search", "practitioner", p.code, p.region, {"matches": len(found)})
    if not found:
        audit.record(session, caller, "practitioner.id_search", "practitioner", "none", caller.region, {"matches": 0})
    session.commit()
    return found


def rekey_id_numbers(session: Session, *, after_id: int = 0, batch: int = 500) -> tuple[int, int, int | None]:
    """Rewrite one batch of stored ID numbers under the current master secret (after a rotation).

    Returns (rows read, rows rewritten, the id to continue after, or None at the end). Rows already
    under the current master are left alone, so running it again is harmless. Commits.
    """
    vault = identity.get_vault()
    rows = session.exec(select(Practitioner).where(Practitioner.id > after_id)
                        .order_by(Practitioner.id).limit(batch).with_for_update()).all()
    rewritten = 0
    for p in rows:
        number = vault.decrypt(p.id_number_encrypted)
        current = vault.search_hash(number)
        if p.id_number_hash != current or vault.is_stale(p.id_number_encrypted):
            p.id_number_encrypted, p.id_number_hash = vault.encrypt(number), current
            session.add(p)
            rewritten += 1
    session.commit()
    return len(rows), rewritten, rows[-1].id if len(rows) == batch else None

"""Loading a year's official days (bundled files at setup, an administrator's file or request
later), listing the covered years.

A load stores the year's days, recounts the stored deadlines that counted that year
(app/dueprocess/service.py ``recompute_deadlines``: never shortened) and writes its audit record,
all in one transaction: no deadline is ever stored against a calendar version that is not the
one in force. A year may be replaced by a corrected version; the same days again change nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import delete, text
from sqlmodel import Session, select

from app import audit
from app.auth.roles import Caller
from app.calendar import current, files
from app.calendar.files import CalendarFileError, Document, OfficialDay, YearData
from app.calendar.models import CalendarDay, CalendarYear
from app.calendar.schemas import LoadOut, RecomputedOut, YearIn, YearOut, YearsOut
from app.dueprocess import service as dueprocess
from app.kit.db import insert_many
from app.kit.errors import Invalid, NotFound, field_error
from app.kit.messages import field_list, from_text, t
from app.kit.timeutil import local_date, utcnow
from app.shared import regions
from app.shared.workdays import HOLIDAY, WORKDAY

BUNDLED, API, CLI = "bundled", "api", "cli"


@dataclass
class Loaded:
    year: CalendarYear
    created: bool
    changed: bool
    recomputed: dueprocess.Recomputed


def load(session: Session, caller: Caller, data: YearData, source: str) -> Loaded:
    """Store ``data`` as the year's official days (a first version or a correction) and recount
    the deadlines it affects. Commits."""
    if session.get_bind().dialect.name == "postgresql":
        # Waits for transactions storing a deadline (current.for_storing), and they for this one.
        session.execute(text("LOCK TABLE calendar_years IN SHARE ROW EXCLUSIVE MODE"))
    stored = session.get(CalendarYear, data.year)
    digest = data.sha256()
    if stored is not None and stored.sha256 == digest:
        session.rollback()  # nothing to do: release the lock at once
        return Loaded(stored, created=False, changed=False, recomputed=dueprocess.Recomputed())
    before = {d.day: (d.kind, d.name) for d in session.exec(select(CalendarDay).where(CalendarDay.year == data.year))}
    created = stored is None
    if created:
        stored = CalendarYear(year=data.year, sha256=digest, source=source, loaded_by="", revision=1)
    else:
        stored.revision += 1
        session.execute(delete(CalendarDay).where(CalendarDay.year == data.year))
    previous_sha256 = None if created else stored.sha256
    stored.notice, stored.source, stored.sha256 = data.notice, source, digest
    stored.loaded_at, stored.loaded_by = utcnow(), f"{caller.principal} {caller.name}"[:250]
    session.add(stored)
    session.flush()
    insert_many(session.connection(), CalendarDay.__table__,
                [{"day": d.date, "year": data.year, "kind": d.kind, "name": d.name} for d in data.days])
    recomputed = dueprocess.recompute_deadlines(session, caller, current.build(session), data.year,
                                                corrected=not created)
    after = {d.date: (d.kind, d.name) for d in data.days}
    audit.record(session, caller, "calendar.loaded" if created else "calendar.corrected", "calendar_year",
                 data.year, regions.NATIONAL, {
                     "year": data.year, "revision": stored.revision, "source": source, "notice": data.notice,
                     "sha256": digest, "previous_sha256": previous_sha256,
                     "holidays": data.holidays, "workdays": data.workdays,
                     # A correction says what it changed, day by day.
                     "added": sorted(d for d in after if d not in before) if not created else None,
                     "removed": sorted(d for d in before if d not in after) if not created else None,
                     "changed": sorted(d for d in after if d in before and before[d] != after[d]) if not created else None,
                     "proposals_recomputed": recomputed.proposals, "appeals_recomputed": recomputed.appeals,
                     "confirmed_before_deadline": recomputed.confirmed_early,
                 })
    session.commit()
    current.forget()
    return Loaded(stored, created=created, changed=True, recomputed=recomputed)


def sync_bundled(session: Session, caller: Caller) -> tuple[list[int], list[int]]:
    """Load the bundled years not stored yet, and bundled files corrected in a release. A year an
    administrator loaded is newer knowledge than a release's file and is kept. Returns (years
    loaded, years kept although their bundled file differs). Commits each year."""
    loaded, kept = [], []
    for data in files.bundled():
        stored = session.get(CalendarYear, data.year)
        if stored is not None and stored.sha256 == data.sha256():
            continue
        if stored is not None and stored.source != BUNDLED:
            kept.append(data.year)
            continue
        load(session, caller, data, BUNDLED)
        loaded.append(data.year)
    return loaded, kept


def load_request(session: Session, caller: Caller, year: int, body: YearIn) -> Loaded:
    """A year sent to the API, as fields or as a file's text; every bad field in one 422."""
    if (body.days is None) == (body.toml is None):
        raise Invalid(t("Send the year's days either as days (with an optional notice) or as toml"),
                      errors=[field_error("body", t("send either days or toml, not both and not neither"))])
    if body.toml is not None:
        if body.notice is not None:
            raise Invalid(t("The notice of a toml document goes inside it"), field="body.notice")
        try:
            data = files.parse(body.toml, year, source="body.toml")
        except CalendarFileError as exc:
            raise _invalid(exc, "body.toml") from None
    else:
        try:
            data = files.checked(Document(year=year, notice=body.notice, days=body.days), year)
        except ValidationError as exc:
            raise _invalid(CalendarFileError("body", files.problems_of(exc)), "body") from None
        except CalendarFileError as exc:
            raise _invalid(exc, "body") from None
    return load(session, caller, data, API)


def _invalid(exc: CalendarFileError, prefix: str) -> Invalid:
    errors = [field_error(f"{prefix}.{path}" if path else prefix, from_text(message)) for path, message in exc.problems]
    return Invalid(t("The calendar year is not valid; nothing was stored: {problems}", problems=field_list(errors)),
                   errors=errors)


def years(session: Session) -> YearsOut:
    rows = session.exec(select(CalendarYear).order_by(CalendarYear.year)).all()
    counts: dict[int, Counter] = {}
    for year_, kind in session.exec(select(CalendarDay.year, CalendarDay.kind)):
        counts.setdefault(year_, Counter())[kind] += 1
    today = local_date()
    covered, through, next_year = {r.year for r in rows}, None, today.year
    while next_year in covered:
        through, next_year = next_year, next_year + 1
    return YearsOut(items=[_out(r, counts.get(r.year, Counter())) for r in rows], today=today,
                    covered_through=through)


def year(session: Session, year: int) -> YearOut:
    stored = session.get(CalendarYear, year)
    if stored is None:
        raise NotFound(t("No official days loaded for {year}: its deadlines are counted with weekends only", year=year))
    return describe(session, stored)


def describe(session: Session, stored: CalendarYear) -> YearOut:
    days = session.exec(select(CalendarDay).where(CalendarDay.year == stored.year).order_by(CalendarDay.day)).all()
    out = _out(stored, Counter(d.kind for d in days))
    out.days = [OfficialDay(date=d.day, kind=d.kind, name=d.name) for d in days]
    return out


def load_out(session: Session, loaded: Loaded) -> LoadOut:
    r = loaded.recomputed
    return LoadOut(**describe(session, loaded.year).model_dump(), changed=loaded.changed,
                   recomputed=RecomputedOut(proposals=len(r.proposals), appeals=len(r.appeals),
                                            confirmed_before_deadline=r.confirmed_early))


def _out(row: CalendarYear, counts: Counter) -> YearOut:
    return YearOut(year=row.year, notice=row.notice, source=row.source, revision=row.revision, sha256=row.sha256,
                   loaded_at=row.loaded_at, loaded_by=row.loaded_by, holidays=counts[HOLIDAY], workdays=counts[WORKDAY])

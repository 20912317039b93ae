"""Freezing and reading notices (公示).

Publishing walks the region's practitioners in code order, in batches, writing each published
row and feeding the canonical bytes to SHA-256 as it goes; reading streams the stored rows back
through the same canonical encoder. Neither holds a whole notice in memory.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from queue import Full, Queue

import orjson
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import audit
from app.auth.roles import Caller, Role
from app.kit.db import bulk_writer, read_session
from app.kit.errors import Conflict, Invalid, NotFound
from app.kit.messages import t
from app.kit.paging import keyset_page
from app.kit.timeutil import local_date, utcnow
from app.notices import content
from app.notices.models import Notice, NoticeRow
from app.practitioners.models import Institution, Practitioner, PractitionerInstitution
from app.referrals import service as referrals
from app.scoring import anchor, catalog
from app.scoring.models import StandingRecord
from app.scoring.rulesets import select_ruleset
from app.shared import events, regions

BATCH = 5000  # rows fetched at a time when freezing and reading: few round trips, memory still a few MB


def title(region: str, year: int) -> str:
    return f"{regions.division_name(region) or region}{year}年度定点医药机构相关人员医保支付资格记分情况公示"


def publish(session: Session, caller: Caller | None, *, region: str, year: int, as_of: date | None,
            contact: str | None, issued_by: str | None = None, follows_revision: int | None = None) -> Notice:
    """Freeze a notice (the next revision for the region and year). Commits.

    ``follows_revision``: the latest revision the publisher knew of (0: none); 409 when another
    was published since, so a form sent twice publishes once.
    """
    if not regions.is_valid_region(region):
        raise Invalid(t("is not a GB/T 2260 division code"), field="body.region")
    if caller is not None and not caller.covers(region):
        raise NotFound(t("Region {region} is outside your region", region=region))
    today = local_date()
    as_of = as_of or min(today, date(year, 12, 31))
    if year > today.year:
        raise Invalid(t("is in the future"), field="body.year")
    if not date(year, 1, 1) <= as_of <= today:
        raise Invalid(t("must lie between {year}-01-01 and today", year=year), field="body.as_of")
    previous = latest(session, region, year)
    if follows_revision is not None and (previous.revision if previous else 0) != follows_revision:
        raise Conflict(t("Revision {revision} of the {year} notice for {region} was published since; nothing was published", revision=previous.revision, year=year, region=region), notice_id=previous.id, revision=previous.revision)
    # An API client is the bureau's own system and carries its name; a person is not the issuer.
    issued_by = issued_by or (caller.name if caller and caller.kind == "client"
                              else f"{regions.division_name(region) or region}医疗保障局")
    notice = Notice(region=region, year=year, revision=previous.revision + 1 if previous else 1,
                    previous_id=previous.id if previous else None, as_of=as_of, issued_by=issued_by,
                    contact=contact, client_id=caller.api_client_id if caller else None,
                    user_id=caller.user_id if caller else None, published_at=utcnow(),
                    header="{}", summary="{}", row_count=0, sha256="")
    session.add(notice)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(t("Another revision of the {year} notice for {region} was published at the same time; read it and publish again if a correction is still needed", year=year, region=region)) from None
    header = {
        "id": notice.id, "title": title(region, year), "region": region,
        "region_name": regions.division_name(region), "year": year, "revision": notice.revision,
        "as_of": as_of.isoformat(), "issued_by": issued_by, "contact": contact,
        "published_at": notice.published_at.isoformat(),
        "previous": {"id": previous.id, "sha256": previous.sha256} if previous else None,
        # The latest signed checkpoint of every ledger chain (null before the first): printed in a
        # published notice, its digest anchors the ledger as of then outside the database.
        "ledger_checkpoint": anchor.reference(session),
    }
    ruleset = select_ruleset(list(catalog.rulesets(session).values()), region, min(as_of, date(year, 12, 31)))
    summary = content.Summary(ruleset, _referral_figures(session, region, year, as_of))
    digest = hashlib.sha256()
    with _no_cycle_collection():
        for chunk in content.document_chunks(header, _freeze_rows(session, notice, year, as_of, summary),
                                             summary.as_dict):
            digest.update(chunk.encode())
    notice.header, notice.summary = content.canonical(header), content.canonical(summary.as_dict())
    notice.row_count, notice.sha256 = summary.people, digest.hexdigest()
    session.add(notice)
    events.emit(session, "notice.published", subject=f"notice:{region}:{year}", region=region, data={
        "notice_id": notice.id, "region": region, "year": year, "revision": notice.revision,
        "sha256": notice.sha256, "rows": notice.row_count, "previous_id": notice.previous_id,
    })
    audit.record(session, caller, "notice.publish", "notice", notice.id, region, {
        "year": year, "revision": notice.revision, "rows": notice.row_count, "sha256": notice.sha256})
    session.commit()
    return notice


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a notice is frozen. Each row allocates some twenty
    containers (the timeline and the row as dicts and lists), so over a million rows the collector
    ran ~7,000 times, walking the batches in flight and everything else alive, for a quarter of the
    freeze's time. The rows form no reference cycles and are freed as they go; cycles that other
    requests make meanwhile are collected once it is back on. (Process-wide: with two freezes at
    once, the one that switched it off switches it on.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


REFERRAL_FIGURES = ("sent", "filed", "not_filed", "concluded_with_penalty", "concluded_without_penalty", "pending",
                    "notifications")


def _referral_figures(session: Session, region: str, year: int, as_of: date) -> list[dict]:
    """Referrals of the year by department, direction and outcome, as the region's bureau sees
    them: the figures the bureau reports anyway (no case details, no people)."""
    bureau = Caller(client_id=0, name="notice", role=Role.bureau, region=region)
    figures = referrals.stats(session, bureau, year, region, as_of)
    return [
        {"department": r.department, "department_name": r.department_name, "direction": r.direction.value,
         **{k: getattr(r, k) for k in REFERRAL_FIGURES}, "fine_amount": str(r.fine_amount)}
        for r in figures.rows if any(getattr(r, k) for k in REFERRAL_FIGURES)
    ]


def _freeze_rows(session: Session, notice: Notice, year: int, as_of: date,
                 summary: content.Summary) -> Iterator[list[str]]:
    """Yield the published rows in canonical form a batch at a time, storing them as it goes."""
    notice_id, position = notice.id, 0  # notice.id read once: an ORM attribute costs on every row
    make_row, add, canonical, loads = content.StoredRows(year, as_of).row, summary.add, content.canonical, orjson.loads
    with bulk_writer(session.connection(), NoticeRow.__table__, _STORED) as store:
        for batch in _read_ahead(_people_in_year(notice.region, year)):
            stored, texts = [], []
            for pid, code, name, category, region, timeline, institutions in batch:
                row = make_row(code, name, category, region, institutions, loads(timeline))
                if row is None:
                    continue
                position += 1
                add(row)
                data = canonical(row)
                stored.append((notice_id, position, pid, row["points"], data))
                texts.append(data)
            store(stored)
            yield texts


_STORED = ("notice_id", "position", "practitioner_id", "points", "data")

# One person to publish: (id, code, name, category, region, stored timeline, [(institution code, name)]).
# Plain tuples: a freeze makes a million of them.
_Person = tuple[int, str, str, str, str, str, list[tuple[str, str | None]]]


def _people_in_year(region: str, year: int) -> Iterator[list[_Person]]:
    """Batches, in code order, of the people in the region whose stored timeline spans the year
    (``standings.first_year``/``last_year``: the rest of the registry has nothing to publish), with
    their institutions in code order; from a session of their own.

    One statement, its rows streamed (a server-side cursor on PostgreSQL), one row per person and
    institution. Read in code order batch by batch, each person cost PostgreSQL a random visit to
    the heap of practitioners and of standings (~20 µs, 23 s of its time for a million people);
    one statement lets it join in id order and sort once (~6 s), and a single snapshot covers the
    whole notice."""
    query = (
        select(Practitioner.id, Practitioner.code, Practitioner.name, Practitioner.category, Practitioner.region,
               StandingRecord.timeline, Institution.code, Institution.name)
        .join(StandingRecord, StandingRecord.practitioner_id == Practitioner.id)
        .outerjoin(PractitionerInstitution, PractitionerInstitution.practitioner_id == Practitioner.id)
        .outerjoin(Institution, Institution.code == PractitionerInstitution.institution_code)
        .where(regions.within(Practitioner.region, region),
               col(StandingRecord.first_year) <= year, col(StandingRecord.last_year) >= year)
        .order_by(Practitioner.code, Institution.code)
    )
    with read_session() as session:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            # A cursor is planned for its first tenth by default, which picks the code index and the
            # random visits above; every row is read, so plan for all of them.
            connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
        result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(query)
        people: list[_Person] = []  # the last may have more institutions in the next rows
        last_pid = sites = None
        for rows in result.partitions():
            for pid, code, name, category, person_region, timeline, site_code, site_name in rows:
                if pid != last_pid:
                    last_pid, sites = pid, []
                    people.append((pid, code, name, category, person_region, timeline, sites))
                if site_code is not None:
                    sites.append((site_code, site_name))
            yield people[:-1]
            people = people[-1:]
        if people:
            yield people


def _read_ahead(items: Iterator, depth: int = 2) -> Iterator:
    """``items`` produced by a thread of its own, up to ``depth`` ahead: while this thread turns one
    batch into rows, the database reads the next (waiting for it releases the GIL), so a freeze uses
    both the database's time and Python's at once instead of one after the other."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(end)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            items.close()

    thread = threading.Thread(target=produce, name="notice-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


# ---------------------------------------------------------------- reading (public)


def get(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(t("No notice {notice_id}", notice_id=notice_id))
    return notice


def describe(notice: Notice, next_id: int | None = None) -> dict:
    return {
        **json.loads(notice.header), "rows": notice.row_count, "sha256": notice.sha256,
        "summary": json.loads(notice.summary), "next_revision_id": next_id,
        "links": {"json": f"/v1/notices/{notice.id}?format=json", "csv": f"/v1/notices/{notice.id}?format=csv",
                  "page": f"/notices/{notice.id}"},
    }


def next_revision(session: Session, notice: Notice) -> int | None:
    return session.exec(select(Notice.id).where(Notice.previous_id == notice.id)).first()


def latest(session: Session, region: str, year: int) -> Notice | None:
    """The newest revision of a region's notice for the year, if any."""
    return session.exec(
        select(Notice).where(Notice.region == region, Notice.year == year).order_by(col(Notice.revision).desc())
    ).first()


def list_notices(session: Session, region: str | None, year: int | None, limit: int,
                 cursor: int | None) -> tuple[list[dict], str | None]:
    """Published notices, oldest first (keyset by id), and the cursor of the next page."""
    query = select(Notice)
    if region:
        query = query.where(Notice.region == region)
    if year:
        query = query.where(Notice.year == year)
    rows, next_cursor = keyset_page(session, query, Notice.id, limit, cursor)
    return [describe(n) for n in rows], next_cursor


def stored_rows(notice_id: int, *, order: str = "position", query: str | None = None,
                start: int = 0, limit: int | None = None) -> Iterator:
    """Rows (``position``, ``practitioner_id``, ``points``, ``data``) from a session of their own, so a
    response can stream after the request's session is gone. Columns, not entities: a download of a
    million rows spent most of its time building ORM objects. One statement, its rows streamed in
    batches (a server-side cursor on PostgreSQL), rather than a statement per batch."""
    q = (select(NoticeRow.position, NoticeRow.practitioner_id, NoticeRow.points, NoticeRow.data)
         .where(NoticeRow.notice_id == notice_id))
    q = _matching(q, query)
    if order == "position":
        q = q.order_by(NoticeRow.position)
    elif order == "person":
        q = q.order_by(NoticeRow.practitioner_id)
    else:  # points, highest first
        q = q.order_by(col(NoticeRow.points).desc(), NoticeRow.position)
    if start:
        q = q.offset(start)
    if limit is not None:
        q = q.limit(limit)
    for rows in _streamed(q, every_row=limit is None):
        yield from rows


def _stored_data(notice_id: int) -> Iterator[list[str]]:
    """Every stored row's canonical JSON in position order, a list of up to ``BATCH`` at a time: what
    the JSON and CSV downloads are made of. The values themselves rather than result rows: reading
    ``.data`` off a million rows was a tenth of a download's CPU."""
    q = select(NoticeRow.data).where(NoticeRow.notice_id == notice_id).order_by(NoticeRow.position)
    return _streamed(q, every_row=True, scalars=True)


def _streamed(q, *, every_row: bool, scalars: bool = False) -> Iterator[list]:
    """``q``'s rows (with ``scalars``, its one column's values) from a session of their own, a list of
    up to ``BATCH`` at a time."""
    with read_session() as session:
        connection = session.connection()
        if connection.dialect.name == "postgresql" and every_row:
            connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")  # every row is read
        result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(q)
        yield from (result.scalars() if scalars else result).partitions()


def count_rows(session: Session, notice_id: int, query: str | None) -> int:
    q = select(func.count()).select_from(NoticeRow).where(NoticeRow.notice_id == notice_id)
    return session.exec(_matching(q, query)).one()


def _matching(q, query: str | None):
    """Rows whose published text contains ``query`` (a masked name, code, institution, ...)."""
    if not query:
        return q
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return q.where(col(NoticeRow.data).like(f"%{escaped}%", escape="\\"))


def json_chunks(notice: Notice) -> Iterator[str]:
    """The canonical document: its SHA-256 is the notice's hash."""
    header, summary = json.loads(notice.header), json.loads(notice.summary)
    yield from content.document_chunks(header, _stored_data(notice.id), lambda: summary)


def csv_chunks(notice: Notice) -> Iterator[str]:
    return content.csv_chunks(_stored_data(notice.id), _region_name)


def _region_name(code: str) -> str:
    return regions.division_name(code) or code


def delta_against(session: Session, notice: Notice, against: int | None) -> Notice:
    """The notice to compare with: the one asked for, else the previous revision, else the latest
    revision of last year's notice for the same region."""
    if against is not None:
        return get(session, against)
    if notice.previous_id is not None:
        return get(session, notice.previous_id)
    last_year = session.exec(
        select(Notice).where(Notice.region == notice.region, Notice.year == notice.year - 1)
        .order_by(col(Notice.revision).desc())
    ).first()
    if last_year is None:
        raise NotFound(t("Notice {id} has no previous revision and no notice for {year} to compare with", id=notice.id, year=notice.year - 1))
    return last_year


def delta_chunks(before: Notice, after: Notice) -> Iterator[str]:
    def pairs(notice_id):
        return ((r.practitioner_id, r.data) for r in stored_rows(notice_id, order="person"))

    def ref(n: Notice) -> dict:
        return {"id": n.id, "year": n.year, "revision": n.revision, "sha256": n.sha256}

    yield '{"from":' + content.canonical(ref(before)) + ',"to":' + content.canonical(ref(after)) + ',"changes":['
    first = True
    for change in content.delta(pairs(before.id), pairs(after.id)):
        yield ("" if first else ",") + content.canonical(change)
        first = False
    yield "]}"

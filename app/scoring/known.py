"""The standing as the ledger stood at an instant (``known_at``): for an auditor checking a claim
paid months ago against what the service knew when it was paid.

Off the hot path (app/scoring/checks.py): the check and the batch come here only when
``known_at`` is given. The ledger is append-only and each row keeps its ``created_at``: the rows of
a person created at or before the instant are what was known then, derived afresh
(``facts_from_rows``, ``standing.derive``) and answered as the check answers (``standing.evaluate``,
``checks.answer``), with ``known_at`` added. A person whose record was created after the instant
was not known: not found. A sync read in one ORM session, run in a worker thread.

What it does not rewind: the person's region (a move since is not undone) and the rulesets (stored
ones never change, only new ones are added; all are used).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import col, select

from app.kit.db import read_session
from app.kit.timeutil import local_date
from app.practitioners.models import Practitioner
from app.scoring import catalog, checks, ledger, standing
from app.scoring.service import facts_from_rows


def echo(known_at: datetime) -> str:
    """The instant as answers write instants: UTC, ``Z``."""
    return known_at.isoformat().replace("+00:00", "Z")


def answers(codes: Sequence[str], day: date | None, known_at: datetime) -> dict[str, dict]:
    """Answers by code, as ``checks.answer`` plus ``known_at``, for the codes known at ``known_at``
    (an aware instant), nationally like the plain check; ``day`` defaults to the instant's date."""
    day = day or local_date(known_at)
    distinct = list(dict.fromkeys(codes))
    with read_session() as session:
        people = [p for p in session.exec(
            select(Practitioner.id, Practitioner.code, Practitioner.region, Practitioner.registered_on)
            .where(col(Practitioner.code).in_(distinct), col(Practitioner.created_at) <= known_at)
        )]
        rows = ledger.rows_of_many(session, [p.id for p in people])
        rulesets = catalog.rulesets(session)
    known = echo(known_at)
    out = {}
    for person in people:
        then = [row for row in rows[person.id] if row.created_at <= known_at]
        timeline = standing.derive(facts_from_rows(person.registered_on, then), rulesets)
        st = standing.evaluate(timeline, day, rulesets)
        answer = checks.answer(person.code, st, checks.ruleset_in_force(rulesets, person.region, day))
        out[person.code] = {**answer, "known_at": known}
    return out


def results(codes: Sequence[str], day: date | None, known_at: datetime) -> list[dict]:
    """The batch's ``{code, found, standing}`` per code asked, in order, as of ``known_at``."""
    found = answers(codes, day, known_at)
    return [{"code": code, "found": True, "standing": found[code]} if code in found
            else {"code": code, "found": False, "standing": None} for code in codes]

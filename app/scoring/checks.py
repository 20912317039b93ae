"""The standing check and the batch query: the hot path, asked by settlement systems per claim.

One statement reads the people by code (``practitioners`` ⟕ ``standings``) through
``app.kit.hotread``: on the event loop, no ORM session, no transaction of its own, so the answer
reflects every score committed before it. A person whose stored timeline has nothing in it
(``first_year`` NULL, or no stored row: most people) is answered without parsing it: their answer
depends only on the day, their registration date and their region's ruleset, and a batch shares it.
Answers are plain dicts in the shape of ``StandingOut``, serialised once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache

import orjson
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from app.kit import hotread
from app.kit.db import get_engine
from app.scoring import catalog, standing
from app.scoring.rulesets import Ruleset, select_ruleset

_SELECT = ("SELECT p.code, p.region, p.registered_on, s.first_year, s.timeline "
           "FROM practitioners p LEFT JOIN standings s ON s.practitioner_id = p.id ")
BY_CODE = {"sqlite": _SELECT + "WHERE p.code = ?", "postgresql": _SELECT + "WHERE p.code = $1"}
# One statement for any number of codes, so it is prepared once: a JSON array on SQLite, an array on PostgreSQL.
BY_CODES = {"sqlite": _SELECT + "WHERE p.code IN (SELECT value FROM json_each(?))",
            "postgresql": _SELECT + "WHERE p.code = ANY($1::text[])"}


def answer(code: str, st: standing.Standing, ruleset_id: str | None) -> dict:
    """The answer to a standing check (the fields and order of ``StandingOut``), JSON-ready."""
    return {
        "code": code, "at": st.on.isoformat(), "status": st.status, "billing_allowed": st.billing_allowed,
        "emergency_allowed": st.emergency_allowed, "year": st.year, "points": st.points,
        "focused_supervision": st.focused_supervision, "suspended_from": _iso(st.suspended_from),
        "suspended_until": _iso(st.suspended_until), "terminated_on": _iso(st.terminated_on),
        "reregistration_barred_until": _iso(st.reregistration_barred_until), "ruleset": ruleset_id,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite gives ISO text


# The ruleset in force per (region, day), for the rulesets object it was computed from.
_in_force: tuple[Mapping[str, Ruleset] | None, dict[tuple[str, date], str | None]] = (None, {})


def ruleset_in_force(rulesets: Mapping[str, Ruleset], region: str, day: date) -> str | None:
    """The id of the ruleset in force for ``region`` on ``day``, remembered while the stored
    rulesets stay the same (a catalogue lookup per check was a tenth of its time)."""
    global _in_force
    source, known = _in_force
    if source is not rulesets or len(known) > 10_000:
        source, known = _in_force = (rulesets, {})
    key = (region, day)
    if key not in known:
        ruleset = select_ruleset(list(rulesets.values()), region, day)
        known[key] = ruleset.id if ruleset else None
    return known[key]


class Answers:
    """Answers for one day; a batch shares the whole answer of people with nothing in their timeline.
    Also what a mirror answers with (app/scoring/mirror.py): the same code, so the same answers."""

    def __init__(self, rulesets: Mapping[str, Ruleset], day: date):
        self.rulesets, self.day = rulesets, day
        self._empty: dict[tuple[str | None, bool], dict] = {}

    def of(self, code: str, region: str, registered_on, first_year: int | None, timeline: str | None) -> dict:
        registered_on = _date(registered_on)
        ruleset_id = ruleset_in_force(self.rulesets, region, self.day)
        if first_year is None:
            key = (ruleset_id, self.day >= registered_on)
            shared = self._empty.get(key)
            if shared is None:
                st = standing.evaluate(standing.Timeline(registered_on=registered_on), self.day, self.rulesets)
                shared = self._empty[key] = answer("", st, ruleset_id)
            return {**shared, "code": code}
        st = standing.evaluate(standing.Timeline.from_json(orjson.loads(timeline)), self.day, self.rulesets)
        return answer(code, st, ruleset_id)


async def _rulesets() -> Mapping[str, Ruleset]:
    # Checked against the database every few seconds; that check goes to a thread, not the loop.
    return catalog.recently_checked(_database(get_engine())) or await run_in_threadpool(catalog.current)


@lru_cache
def _database(engine: Engine) -> str:
    return str(engine.url)  # as catalog keys it; rendering a URL costs more than the rest of the lookup


async def standing_of(code: str, day: date) -> dict | None:
    """The answer for one code, or None when no such practitioner is registered. National: any
    settlement system may ask about any registered person (the answer holds no personal data)."""
    rows = await hotread.fetch(BY_CODE[hotread.dialect()], (code,))
    if not rows:
        return None
    return Answers(await _rulesets(), day).of(*rows[0])


async def standings(codes: Sequence[str], day: date) -> list[dict]:
    """``{code, found, standing}`` per code, in the order asked; unknown codes are not found."""
    distinct = list(dict.fromkeys(codes))
    sqlite = hotread.dialect() == "sqlite"
    rows = await hotread.fetch(BY_CODES["sqlite" if sqlite else "postgresql"],
                               (orjson.dumps(distinct).decode() if sqlite else distinct,))
    answers = Answers(await _rulesets(), day)
    found = {row[0]: answers.of(*row) for row in rows}
    return [{"code": code, "found": True, "standing": found[code]} if code in found
            else {"code": code, "found": False, "standing": None} for code in codes]

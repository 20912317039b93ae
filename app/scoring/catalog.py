"""The rulesets in force, as stored. Bundled files are seeds; once stored a ruleset never
changes (entries already judged by it must keep their meaning): a changed file needs a new id."""

from __future__ import annotations

import json
import threading
import time

from sqlmodel import Session, select

from app.kit.db import read_session
from app.scoring.models import RulesetRecord
from app.scoring.rulesets import Ruleset, RulesetError, load_rulesets

_lock = threading.Lock()
_cache: dict[tuple[tuple[str, str], ...], dict[str, Ruleset]] = {}
# How long a process trusts its parsed rulesets before asking the database again which versions
# are stored. Rulesets are only ever added (by ``setup``, at a deploy), never changed, so a new one
# reaching running API processes up to this late costs nothing; asking on every call cost a query
# per standing check (about a tenth of its time, bench/RESULTS.md).
VERSIONS_TTL = 5.0
_checked: dict[str, tuple[float, dict[str, Ruleset]]] = {}  # database URL -> (monotonic time, rulesets)


def sync_bundled(session: Session) -> list[str]:
    """Store the bundled rulesets not stored yet; returns the new ids. Commits.

    Raises RulesetError for an invalid file, or for a file whose content differs from the stored
    ruleset of the same id.
    """
    added = []
    for ruleset in load_rulesets():
        stored = session.get(RulesetRecord, ruleset.id)
        digest = ruleset.content_hash()
        if stored is None:
            session.add(_record(ruleset))
            added.append(ruleset.id)
        elif stored.sha256 != digest:
            raise RulesetError(
                f"{ruleset.id}.toml",
                [("id", f"ruleset {ruleset.id} is already stored with other content; a change needs a new id")],
            )
    session.commit()
    _checked.clear()
    return added


def _record(ruleset: Ruleset) -> RulesetRecord:
    return RulesetRecord(
        id=ruleset.id,
        jurisdiction=ruleset.jurisdiction,
        effective_from=ruleset.effective_from,
        name=ruleset.name,
        sha256=ruleset.content_hash(),
        content=json.dumps(ruleset.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
    )


def rulesets(session: Session) -> dict[str, Ruleset]:
    """All stored rulesets by id, parsed once per distinct set of stored versions; which versions
    are stored is looked up at most every ``VERSIONS_TTL`` seconds per database."""
    database = str(session.get_bind().url)
    recent = recently_checked(database)
    if recent is not None:
        return recent
    parsed = _rulesets(session)
    _checked[database] = (time.monotonic(), parsed)
    return parsed


def recently_checked(database: str) -> dict[str, Ruleset] | None:
    """The rulesets of ``database`` (its URL as ``str(engine.url)``) if checked within
    ``VERSIONS_TTL``, else None: lets the event loop skip a database round trip it would block on."""
    recent = _checked.get(database)
    if recent is not None and time.monotonic() - recent[0] < VERSIONS_TTL:
        return recent[1]
    return None


def current() -> dict[str, Ruleset]:
    """``rulesets`` in a read session of its own (for callers without a session)."""
    with read_session() as session:
        return rulesets(session)


def _rulesets(session: Session) -> dict[str, Ruleset]:
    versions = tuple(session.exec(select(RulesetRecord.id, RulesetRecord.sha256).order_by(RulesetRecord.id)).all())
    key = tuple((i, h) for i, h in versions)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        records = session.exec(select(RulesetRecord)).all()
        parsed = {r.id: Ruleset.model_validate(json.loads(r.content)) for r in records}
        _cache.clear()
        _cache[key] = parsed
        return parsed

"""``python -m app ledger verify``: what the database says about scores, held to what cannot be
rewritten there.

1. Every checkpoint (app/scoring/anchor.py): numbered without gaps, each naming the digest of the
   one before, each signature verifying under a trusted public key; every public notice's
   checkpoint still stored with the digest the notice printed.
2. Every chain against the latest checkpoint: a chain it names must still reach that head with
   the same hash (a shorter chain lost its end, a missing chain was deleted, another hash at the
   same row is rewritten history), and the latest checkpoint's stored heads must give its signed
   digest. Rows after it are counted as not yet anchored, which is no error.
3. Every chain's links, as before checkpoints: each row's hash over its content and the row before.
4. Every ``standings`` row against the timeline derived afresh from the ledger
   (``facts_from_rows``, ``standing.derive``): the standing check reads only that cache, so an
   edited row there changes answers without touching a chain.

All of it reads one snapshot (REPEATABLE READ on PostgreSQL, one read transaction on SQLite), so
writes committed meanwhile do not show as differences.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app import audit
from app.audit.service import cli_caller
from app.kit.db import read_session, upsert_many, write_session
from app.notices.models import Notice
from app.practitioners.models import Practitioner
from app.scoring import anchor, catalog, ledger, service, signing, standing
from app.scoring.models import LedgerCheckpoint, StandingRecord
from app.shared import feed

PEOPLE = 1000  # practitioners read at a time


@dataclass(frozen=True)
class StandingDifference:
    practitioner_id: int
    code: str
    differs: tuple[str, ...]  # what differs: "no stored standing", "timeline.sanctions", "years …"


@dataclass
class Report:
    rows: int = 0
    chains: int = 0
    broken: list[ledger.BrokenLink] = field(default_factory=list)
    anchor: list[anchor.Finding] = field(default_factory=list)  # chains that left the latest checkpoint
    checkpoints: list[str] = field(default_factory=list)  # the checkpoints themselves, notices' references
    standings: list[StandingDifference] = field(default_factory=list)
    latest: LedgerCheckpoint | None = None
    unanchored_rows: int = 0
    unanchored_chains: int = 0
    unverifiable: str | None = None  # why signatures could not be checked

    @property
    def tampered(self) -> bool:
        return bool(self.broken or self.anchor or self.checkpoints or self.standings)


def verify(session: Session, keys: signing.Keys) -> Report:
    """Check everything (module docstring) in ``session``, a new read session."""
    postgres = session.get_bind().dialect.name == "postgresql"
    connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"} if postgres else None)
    report = Report()
    if not keys.trusted:
        report.unverifiable = ("no ledger key configured (APP_LEDGER_PUBLIC_KEYS or APP_LEDGER_SIGNING_KEY): "
                               "checkpoint signatures were not checked")
    checkpoints = list(session.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.id))))
    report.checkpoints = check_checkpoints(checkpoints, keys) + check_notices(session, checkpoints)
    last = report.latest = checkpoints[-1] if checkpoints else None

    # Heads against the latest checkpoint. Chains that grew since are checked row by row below.
    advanced: dict[int, anchor.Head] = {}
    anchored = anchor.Digest()
    for practitioner_id, was, now in anchor.heads_against(connection, last.id if last else None):
        if was is not None:
            anchored.add(practitioner_id, *was)
        finding = anchor.departure(last.id, practitioner_id, was, now) if last else None
        if finding:
            report.anchor.append(finding)
        elif now is not None and was != now:
            if was is not None:
                advanced[practitioner_id] = was
            report.unanchored_chains += 1
            report.unanchored_rows += now[0] - (was[0] if was else 0)
    if last is not None and (anchored.hexdigest(), anchored.chains, anchored.rows) != (last.digest, last.chains, last.rows):
        report.checkpoints.append(f"checkpoint {last.id}: its stored heads do not give its signed digest "
                                  "(the list of heads was edited)")

    rulesets = catalog.rulesets(session)
    ids = sorted(set(session.exec(select(ledger.LedgerRow.practitioner_id).distinct()))
                 | set(session.exec(select(StandingRecord.practitioner_id))))
    for start in range(0, len(ids), PEOPLE):
        batch = ids[start : start + PEOPLE]
        rows = ledger.rows_of_many(session, batch)
        people = {p.id: p for p in session.exec(
            select(Practitioner.id, Practitioner.code, Practitioner.registered_on).where(col(Practitioner.id).in_(batch)))}
        stored = {s.practitioner_id: s for s in session.exec(
            select(StandingRecord.practitioner_id, StandingRecord.timeline, StandingRecord.first_year,
                   StandingRecord.last_year).where(col(StandingRecord.practitioner_id).in_(batch)))}
        for practitioner_id in batch:
            chain = rows[practitioner_id]
            report.rows += len(chain)
            report.chains += bool(chain)
            report.broken += ledger.verify_chain(chain)
            if practitioner_id in advanced:
                finding = anchor.reaches(last.id, chain, advanced[practitioner_id])
                if finding:
                    report.anchor.append(finding)
            person = people.get(practitioner_id)
            if person is None:  # kept out by the foreign keys; nothing to derive from
                continue
            differs = standing_difference(person.registered_on, chain, stored.get(practitioner_id), rulesets)
            if differs:
                report.standings.append(StandingDifference(practitioner_id, person.code, differs))
    return report


def check_checkpoints(checkpoints: Sequence[LedgerCheckpoint], keys: signing.Keys) -> list[str]:
    """Numbering, the chain of digests and, with a trusted key, every signature."""
    problems, previous = [], None
    for checkpoint in checkpoints:
        expected = previous.id + 1 if previous else 1
        if checkpoint.id != expected:
            gap = f"{expected}" if checkpoint.id == expected + 1 else f"{expected}–{checkpoint.id - 1}"
            problems.append(f"checkpoint {checkpoint.id}: checkpoint {gap} missing (deleted)")
        elif checkpoint.previous_digest != (previous.digest if previous else anchor.GENESIS):
            problems.append(f"checkpoint {checkpoint.id}: does not name the digest of the checkpoint before it")
        if keys.trusted:
            why = keys.check(checkpoint.key_id, checkpoint.signature, anchor.statement(checkpoint))
            if why:
                problems.append(f"checkpoint {checkpoint.id}: {why}")
        previous = checkpoint
    return problems


def check_notices(session: Session, checkpoints: Sequence[LedgerCheckpoint]) -> list[str]:
    """A published notice printed the checkpoint of its day: that checkpoint must still be here,
    with the same digest (else checkpoints were deleted or edited after the notice went out)."""
    digests = {c.id: c.digest for c in checkpoints}
    problems = []
    for notice_id, header in session.exec(select(Notice.id, Notice.header).order_by(col(Notice.id))):
        named = json.loads(header).get("ledger_checkpoint")
        if not named:
            continue
        if named["id"] not in digests:
            problems.append(f"checkpoint {named['id']}: printed in notice {notice_id}, missing (deleted)")
        elif digests[named["id"]] != named["digest"]:
            problems.append(f"checkpoint {named['id']}: its digest differs from the one printed in notice {notice_id}")
    return problems


def standing_difference(registered_on, chain: list[ledger.Row], stored, rulesets) -> tuple[str, ...]:
    """What differs between a stored standings row (None: no row) and the one the ledger gives."""
    expected = service.standing_row(0, standing.derive(service.facts_from_rows(registered_on, chain), rulesets))
    if stored is None:
        return ("no stored standing",) if chain else ()
    differs = []
    try:
        got = json.loads(stored.timeline)
    except ValueError:
        got = None
    want = json.loads(expected["timeline"])
    if not isinstance(got, dict):
        differs.append("timeline unreadable")
    else:
        differs += [f"timeline.{key}" for key in sorted(set(got) | set(want)) if got.get(key) != want.get(key)]
    if (stored.first_year, stored.last_year) != (expected["first_year"], expected["last_year"]):
        differs.append(f"years {stored.first_year}–{stored.last_year} where the ledger gives "
                       f"{expected['first_year']}–{expected['last_year']}")
    return tuple(differs)


def repair_standings(differences: Sequence[StandingDifference]) -> int:
    """Rewrite each differing standings row from the ledger: under the person's lock, each in its
    own transaction, with an audit record. Nothing is appended to the ledger (sanctions the rules
    now call for are ``scoring recompute``'s to announce). Returns how many were rewritten."""
    for difference in differences:
        with write_session() as session:
            person = service.lock_practitioners(session, [difference.code])[difference.code]
            rows = ledger.rows_of(session, person.id)
            timeline = standing.derive(service.facts_from_rows(person.registered_on, rows), catalog.rulesets(session))
            upsert_many(session.connection(), StandingRecord.__table__, "practitioner_id",
                        [service.standing_row(person.id, timeline)])
            feed.record(session.connection(), [person.id])
            audit.record(session, cli_caller(), "standing.repair", "practitioner", person.code, person.region,
                         {"differed": list(difference.differs)})
            session.commit()
    return len(differences)


def lines(report: Report, repaired: bool = False) -> list[str]:
    """One line per finding, for stdout."""
    out = [f"checkpoints: {problem}" for problem in report.checkpoints]
    for link in report.broken:
        out.append(f"practitioner {link.practitioner_id} row {link.seq}: {link.problem}")
    for finding in report.anchor:
        where = f"practitioner {finding.practitioner_id}" + (f" row {finding.seq}" if finding.seq is not None else "")
        out.append(f"{where}: {finding.problem}")
    for d in report.standings:
        out.append(f"practitioner {d.practitioner_id} ({d.code}) standing differs from the ledger: "
                   f"{', '.join(d.differs)}{' (rewritten from the ledger)' if repaired else ''}")
    return out


def summary(report: Report, repaired: int | None = None) -> list[str]:
    """What was checked and found, for stderr."""
    out = [f"{report.rows} ledger rows in {report.chains} chains checked, {len(report.broken)} broken links"]
    unanchored = f"{report.unanchored_rows} rows in {report.unanchored_chains} chains not yet anchored"
    if report.latest is None:
        out.append(f"no checkpoint yet: {unanchored}")
    else:
        last = report.latest
        out.append(f"latest checkpoint {last.id} at {last.created_at.isoformat()} (digest {last.digest}, key "
                   f"{last.key_id}): {len(report.anchor)} chains or rows depart from it; {unanchored}")
    out.append(f"{len(report.checkpoints)} problems with checkpoints")
    out.append(f"{len(report.standings)} stored standings differ from the ledger"
               + (f", {repaired} rewritten" if repaired is not None else ""))
    if report.unverifiable:
        out.append(f"unverifiable: {report.unverifiable}")
    return out


def run(repair: bool = False) -> tuple[Report, int | None]:
    """Verify in a read session of its own; then, with ``repair``, rewrite the differing standings."""
    keys = signing.configured()
    with read_session() as session:
        report = verify(session, keys)
    repaired = repair_standings(report.standings) if repair else None
    return report, repaired


"""Due process: defences, confirmation or withdrawal, automatic confirmation, appeals, statements.

Every write locks the practitioner first (the same lock score cases take), so a confirmation
and a defence, or two decisions on one appeal, are serialised; ``machine.step`` then says
whether the step is allowed from the state found under the lock.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from app import audit
from app.auth.roles import Caller
from app.calendar import current as working_calendar
from app.dueprocess import machine
from app.dueprocess.models import Appeal, Defence, Proposal, Statement
from app.dueprocess.schemas import (
    AppealDecisionOut,
    AppealIn,
    AppealOut,
    AppealPage,
    ConfirmationOut,
    DefenceIn,
    DefenceOut,
    ProposalOut,
    ProposalPage,
    StatementIn,
    StatementOut,
)
from app.kit.db import read_session, write_session
from app.kit.errors import Conflict, IllegalTransition, NotFound
from app.kit.messages import t
from app.kit.paging import keyset_page
from app.kit.timeutil import local_date, utcnow
from app.practitioners.models import Practitioner
from app.scoring import catalog
from app.scoring import service as scoring
from app.scoring.models import LedgerRow, ScoreCase
from app.shared import events, regions
from app.shared.workdays import Calendar

logger = logging.getLogger("app.dueprocess")


def _step(what: str, table: dict, state: str, action: str) -> str:
    try:
        return machine.step(table, state, action)
    except machine.NotAllowed as refused:
        raise IllegalTransition(what, refused.state, refused.action, refused.allowed) from None


def _emit(session: Session, caller: Caller | None, type_: str, practitioner: Practitioner, data: dict) -> None:
    """Every due-process step is an event for subscribers and a record in the audit trail."""
    events.emit(session, type_, subject=practitioner.code, region=practitioner.region,
                data={"practitioner": practitioner.code, **data})
    audit.record(session, caller, type_, "practitioner", practitioner.code, practitioner.region, data)


# ---------------------------------------------------------------- proposals


def _proposal(session: Session, caller: Caller, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or not caller.covers(proposal.region):
        raise NotFound(t("No score proposal {proposal_id} in your region", proposal_id=proposal_id))
    return proposal


def _locked_proposal(session: Session, caller: Caller, proposal_id: int) -> tuple[scoring.Person, Proposal]:
    proposal = _proposal(session, caller, proposal_id)
    code = session.get(Practitioner, proposal.practitioner_id).code
    person = scoring.locked_person(session, caller, code)
    session.refresh(proposal)  # its state as of holding the lock
    return person, proposal


def proposal_out(session: Session, proposal: Proposal) -> ProposalOut:
    case = session.get(ScoreCase, proposal.case_id)
    code = session.get(Practitioner, proposal.practitioner_id).code
    defence = session.exec(select(Defence).where(Defence.proposal_id == proposal.id)).first()
    return ProposalOut(
        id=proposal.id, case_id=case.id, case_ref=case.case_ref, decision_number=case.decision_number,
        decision_date=case.decision_date, practitioner=code, violation_type=proposal.violation_type,
        tier=proposal.tier, circumstances=proposal.circumstances, act=proposal.act, points=proposal.points,
        ruleset=proposal.ruleset_id, status=proposal.status,
        allowed_actions=machine.allowed(machine.PROPOSAL, proposal.status), notified_on=proposal.notified_on,
        defence_deadline=proposal.defence_deadline,
        defence_deadline_provisional=proposal.defence_deadline_provisional,
        defence=_defence_out(defence) if defence else None,
        decided_on=proposal.decided_on, decision_reason=proposal.decision_reason,
        confirmed_automatically=proposal.status == "confirmed" and proposal.decided_by is None,
        entry_id=proposal.entry_id,
    )


def _defence_out(defence: Defence) -> DefenceOut:
    return DefenceOut(id=defence.id, channel=defence.channel, text=defence.text,
                      evidence=json.loads(defence.evidence), submitted_on=defence.submitted_on)


def get_proposal(session: Session, caller: Caller, proposal_id: int) -> ProposalOut:
    return proposal_out(session, _proposal(session, caller, proposal_id))


def list_proposals(session: Session, caller: Caller, *, status: str | None, closing_within: int | None,
                   limit: int, cursor: int | None) -> ProposalPage:
    """The bureau's queue: proposals by status, or whose defence window closes within N working days."""
    query = select(Proposal).where(regions.within(Proposal.region, caller.region))
    if status:
        query = query.where(Proposal.status == status)
    if closing_within is not None:
        today = local_date()
        last = (working_calendar.calendar(session).add_working_days(today, closing_within).day
                if closing_within else today)
        query = query.where(Proposal.status == "proposed", Proposal.defence_deadline >= today,
                            Proposal.defence_deadline <= last)
    page, next_cursor = keyset_page(session, query, Proposal.id, limit, cursor)
    return ProposalPage(items=[proposal_out(session, p) for p in page], next_cursor=next_cursor)


def submit_defence(session: Session, caller: Caller, proposal_id: int, body: DefenceIn) -> tuple[ProposalOut, bool]:
    """申辩 within the window. A repeat of the same defence returns it unchanged (created=False)."""
    person, proposal = _locked_proposal(session, caller, proposal_id)
    existing = session.exec(select(Defence).where(Defence.proposal_id == proposal.id)).first()
    evidence = [e.model_dump(mode="json") for e in body.evidence]
    if existing and (existing.channel, existing.text, json.loads(existing.evidence)) == (body.channel, body.text, evidence):
        return proposal_out(session, proposal), False
    _step(t("Proposal {id}", id=proposal.id), machine.PROPOSAL, proposal.status, "defend")
    today = local_date()
    if today > proposal.defence_deadline:
        raise Conflict(
            t("The defence window of proposal {id} closed on {day}", id=proposal.id, day=proposal.defence_deadline.isoformat()),
            deadline=proposal.defence_deadline.isoformat(), provisional=proposal.defence_deadline_provisional,
        )
    session.add(Defence(proposal_id=proposal.id, channel=body.channel, text=body.text,
                        evidence=json.dumps(evidence, ensure_ascii=False), submitted_on=today,
                        client_id=caller.client_id))
    proposal.status = "defended"
    proposal.updated_at = utcnow()
    session.add(proposal)
    _emit(session, caller, "score.defence_submitted", person.practitioner,
          {"proposal_id": proposal.id, "channel": body.channel, "submitted_on": today})
    session.commit()
    return proposal_out(session, proposal), True


def confirm(session: Session, caller: Caller | None, proposal_id: int, reason: str, *,
            person: scoring.Person | None = None, proposal: Proposal | None = None,
            confirmed_on: date | None = None) -> ConfirmationOut:
    """The entry starts counting; thresholds crossed now create their sanctions. Commits.

    ``caller`` None is the scheduled confirmation of a window that closed without a defence.
    """
    if person is None:
        person, proposal = _locked_proposal(session, caller, proposal_id)
    new_status = _step(t("Proposal {id}", id=proposal.id), machine.PROPOSAL, proposal.status, "confirm")
    case = session.get(ScoreCase, proposal.case_id)
    ruleset = person.rulesets[proposal.ruleset_id]
    confirmed_on = confirmed_on or local_date()
    effective_on = machine.effective_on(ruleset, case.decision_date, confirmed_on)
    client_id = caller.client_id if caller else None
    entry = _ProposedEntry(proposal)
    row = scoring.entry_row(person.practitioner, case, entry, proposal.points, effective_on, client_id,
                            counted_from=confirmed_on, proposal_id=proposal.id)
    person.append([row])
    person.settle(client_id, f"proposal {proposal.id} confirmed")
    proposal.status, proposal.decided_on, proposal.decision_reason = new_status, confirmed_on, reason
    proposal.decided_by, proposal.entry_id, proposal.updated_at = client_id, row.id, utcnow()
    session.add(proposal)
    _emit(session, caller, "score.confirmed", person.practitioner, {
        "proposal_id": proposal.id, "entry_id": row.id, "effective_on": effective_on,
        "confirmed_on": confirmed_on, "automatically": caller is None, "reason": reason,
    })
    scoring.emit_recorded(session, person, case, row)
    person.emit_changes(f"proposal {proposal.id} confirmed")
    answer = ConfirmationOut(
        proposal=proposal_out(session, proposal), effective_on=effective_on, year=effective_on.year,
        year_total=person.after.year_total(effective_on.year), year_totals=person.year_totals(effective_on.year),
        standing_before=person.standing_on(person.before, effective_on),
        standing_after=person.standing_on(person.after, effective_on),
        **person.sanctions_moved(),
    )
    session.commit()
    return answer


class _ProposedEntry:
    """The fields of a case entry that ``scoring.entry_row`` reads, taken from a proposal."""

    def __init__(self, proposal: Proposal):
        self.violation_type, self.tier = proposal.violation_type, proposal.tier
        self.circumstances, self.suspension_months = proposal.circumstances, proposal.suspension_months
        self.act = proposal.act


def withdraw(session: Session, caller: Caller, proposal_id: int, reason: str) -> ProposalOut:
    person, proposal = _locked_proposal(session, caller, proposal_id)
    proposal.status = _step(t("Proposal {id}", id=proposal.id), machine.PROPOSAL, proposal.status, "withdraw")
    proposal.decided_on, proposal.decision_reason, proposal.decided_by = local_date(), reason, caller.client_id
    proposal.updated_at = utcnow()
    session.add(proposal)
    _emit(session, caller, "score.withdrawn", person.practitioner, {"proposal_id": proposal.id, "reason": reason})
    session.commit()
    return proposal_out(session, proposal)


AUTO_REASON = "the defence window closed without a statement of defence"


def close_windows(today: date | None = None, batch: int = 100) -> int:
    """Confirm, where the ruleset says so, proposals whose window closed without a defence.

    Each proposal is its own transaction, so one failure does not hold back the rest. Returns
    how many were confirmed; the worker runs this hourly and ``python -m app scoring close-windows``
    on demand. Confirmed on the first day after the window, whenever this runs.

    A provisional window (counted across a year without official holiday data) is left alone:
    once that year is loaded the window may turn out longer, and a confirmation cannot be taken
    back. The bureau may still confirm such a proposal itself.
    """
    today = today or local_date()
    confirmed = 0
    with read_session() as session:
        rulesets = catalog.rulesets(session)
        automatic = [r.id for r in rulesets.values() if r.defence.auto_confirm]
        due = session.exec(
            select(Proposal.id).where(Proposal.status == "proposed", Proposal.defence_deadline < today,
                                      col(Proposal.defence_deadline_provisional).is_(False),
                                      col(Proposal.ruleset_id).in_(automatic))
            .order_by(Proposal.id).limit(batch)
        ).all()
    for proposal_id in due:
        with write_session() as session:
            proposal = session.get(Proposal, proposal_id)
            code = session.get(Practitioner, proposal.practitioner_id).code
            person = scoring.Person(session, scoring.lock_practitioners(session, [code])[code], rulesets)
            session.refresh(proposal)
            if proposal.status != "proposed":  # decided meanwhile by the bureau
                continue
            confirm(session, None, proposal_id, AUTO_REASON, person=person, proposal=proposal,
                    confirmed_on=machine.auto_confirmation_day(proposal.defence_deadline))
            confirmed += 1
    if confirmed:
        logger.info("confirmed %d proposals whose defence window closed", confirmed)
    return confirmed


# ---------------------------------------------------------------- appeals and statements


def _entry(session: Session, caller: Caller, entry_id: int) -> tuple[LedgerRow, Practitioner]:
    row = session.get(LedgerRow, entry_id)
    owner = session.get(Practitioner, row.practitioner_id) if row is not None and row.kind == scoring.ENTRY else None
    if owner is None or not caller.covers(owner.region):
        raise NotFound(t("No score entry {entry_id} in your region", entry_id=entry_id))
    return row, owner


def appeal_out(session: Session, appeal: Appeal) -> AppealOut:
    code = session.get(Practitioner, appeal.practitioner_id).code
    return AppealOut(
        id=appeal.id, entry_id=appeal.entry_id, practitioner=code, status=appeal.status,
        allowed_actions=machine.allowed(machine.APPEAL, appeal.status), channel=appeal.channel,
        grounds=appeal.grounds, evidence=json.loads(appeal.evidence), filed_on=appeal.filed_on,
        deadline=appeal.deadline, deadline_provisional=appeal.deadline_provisional,
        decided_on=appeal.decided_on, decision_reason=appeal.decision_reason,
        reversal_id=appeal.reversal_id,
    )


def file_appeal(session: Session, caller: Caller, entry_id: int, body: AppealIn) -> tuple[AppealOut, bool]:
    """申诉 against a counting entry, within the ruleset's window from the day it began to count."""
    row, owner = _entry(session, caller, entry_id)
    person = scoring.locked_person(session, caller, owner.code)
    evidence = [e.model_dump(mode="json") for e in body.evidence]
    existing = session.exec(select(Appeal).where(Appeal.entry_id == entry_id)).first()
    if existing is not None:
        if (existing.channel, existing.grounds, json.loads(existing.evidence)) == (body.channel, body.grounds, evidence):
            return appeal_out(session, existing), False
        raise IllegalTransition(t("Entry {entry_id}", entry_id=entry_id), t("appealed (appeal {appeal_id} {status})", appeal_id=existing.id, status=existing.status),
                                "appeal", [])
    if any(r.kind == scoring.REVERSAL and r.target_id == entry_id for r in person.rows):
        raise IllegalTransition(t("Entry {entry_id}", entry_id=entry_id), "reversed", "appeal", [])
    due = machine.appeal_deadline(_counted_from(row), person.rulesets[row.ruleset_id],
                                  working_calendar.for_storing(session))
    today = local_date()
    if today > due.day:
        raise Conflict(t("The appeal window of entry {entry_id} closed on {day}", entry_id=entry_id, day=due.day.isoformat()),
                       deadline=due.day.isoformat(), provisional=due.provisional)
    appeal = Appeal(entry_id=entry_id, practitioner_id=owner.id, region=owner.region, channel=body.channel,
                    grounds=body.grounds, evidence=json.dumps(evidence, ensure_ascii=False), filed_on=today,
                    deadline=due.day, deadline_provisional=due.provisional, client_id=caller.client_id)
    session.add(appeal)
    session.flush()
    _emit(session, caller, "score.appealed", owner, {"appeal_id": appeal.id, "entry_id": entry_id, "filed_on": today})
    session.commit()
    return appeal_out(session, appeal), True


def _counted_from(row: LedgerRow) -> date:
    """The day an entry began to count here, from which its appeal window runs."""
    details = json.loads(row.details)
    return date.fromisoformat(details["counted_from"]) if "counted_from" in details else local_date(row.created_at)


def decide_appeal(session: Session, caller: Caller, appeal_id: int, outcome: str, reason: str) -> AppealDecisionOut:
    """Uphold (the entry is reversed, its sanctions recomputed) or reject (the reason is kept)."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or not caller.covers(appeal.region):
        raise NotFound(t("No appeal {appeal_id} in your region", appeal_id=appeal_id))
    owner = session.get(Practitioner, appeal.practitioner_id)
    person = scoring.locked_person(session, caller, owner.code)
    session.refresh(appeal)
    action = {"upheld": "uphold", "rejected": "reject"}[outcome]
    appeal.status = _step(t("Appeal {id}", id=appeal.id), machine.APPEAL, appeal.status, action)
    appeal.decided_on, appeal.decision_reason, appeal.decided_by = local_date(), reason, caller.client_id
    appeal.updated_at = utcnow()
    answer = AppealDecisionOut(appeal=appeal_out(session, appeal))
    if outcome == "upheld":
        reversal = scoring.append_reversal(person, caller.client_id, appeal.entry_id,
                                           f"appeal {appeal.id} upheld: {reason}")
        appeal.reversal_id = reversal.id
        answer = AppealDecisionOut(appeal=appeal_out(session, appeal), standing=reversal.standing,
                                   sanctions_created=reversal.sanctions_created,
                                   sanctions_changed=reversal.sanctions_changed,
                                   sanctions_lifted=reversal.sanctions_lifted)
    session.add(appeal)
    _emit(session, caller, "score.appeal_decided", owner, {
        "appeal_id": appeal.id, "entry_id": appeal.entry_id, "outcome": outcome, "reason": reason,
        "reversal_id": appeal.reversal_id,
    })
    session.commit()
    return answer


def get_appeal(session: Session, caller: Caller, appeal_id: int) -> AppealOut:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or not caller.covers(appeal.region):
        raise NotFound(t("No appeal {appeal_id} in your region", appeal_id=appeal_id))
    return appeal_out(session, appeal)


def list_appeals(session: Session, caller: Caller, *, status: str | None, limit: int, cursor: int | None) -> AppealPage:
    query = select(Appeal).where(regions.within(Appeal.region, caller.region))
    if status:
        query = query.where(Appeal.status == status)
    page, next_cursor = keyset_page(session, query, Appeal.id, limit, cursor)
    return AppealPage(items=[appeal_out(session, a) for a in page], next_cursor=next_cursor)


def add_statement(session: Session, caller: Caller, entry_id: int, body: StatementIn) -> StatementOut:
    """The practitioner's own account of an entry; kept beside it on the dossier, never edited."""
    row, owner = _entry(session, caller, entry_id)
    statement = Statement(entry_id=entry_id, practitioner_id=owner.id, channel=body.channel, text=body.text,
                          client_id=caller.client_id)
    session.add(statement)
    session.flush()
    _emit(session, caller, "score.statement_added", owner, {"statement_id": statement.id, "entry_id": entry_id})
    session.commit()
    return _statement_out(statement, owner.code)


def _statement_out(statement: Statement, code: str) -> StatementOut:
    return StatementOut(id=statement.id, entry_id=statement.entry_id, practitioner=code, channel=statement.channel,
                        text=statement.text, created_at=statement.created_at.isoformat())


def dossier_section(session: Session, practitioner: Practitioner) -> dict[str, list[dict]]:
    """The due-process part of 一人一档: proposals with their defences, appeals, statements."""
    proposals = session.exec(select(Proposal).where(Proposal.practitioner_id == practitioner.id)
                             .order_by(Proposal.id)).all()
    appeals = session.exec(select(Appeal).where(Appeal.practitioner_id == practitioner.id).order_by(Appeal.id)).all()
    statements = session.exec(select(Statement).where(Statement.practitioner_id == practitioner.id)
                              .order_by(col(Statement.id))).all()
    return {
        "proposals": [proposal_out(session, p).model_dump(mode="json") for p in proposals],
        "appeals": [appeal_out(session, a).model_dump(mode="json") for a in appeals],
        "statements": [_statement_out(s, practitioner.code).model_dump(mode="json") for s in statements],
    }


# ---------------------------------------------------------------- a calendar year loaded or corrected


@dataclass
class Recomputed:
    proposals: list[int] = field(default_factory=list)  # open proposals whose stored deadline changed
    appeals: list[int] = field(default_factory=list)
    # Confirmed by themselves before the deadline the new version gives them: for the bureau to review.
    confirmed_early: list[int] = field(default_factory=list)


def recompute_deadlines(session: Session, caller: Caller, calendar: Calendar, year: int,
                        corrected: bool) -> Recomputed:
    """In the transaction that loads the official days of ``year``: count again the stored
    deadlines that counted that year, never shortening one (``machine.never_shorter``).

    A first load settles the provisional deadlines (counted with weekends only); a correction
    also recounts those counted with the version it replaces. Only open proposals change: the
    window of a decided one governs nothing any more. A proposal confirmed by itself before the
    deadline a correction gives it is not undone (it is in the ledger) but listed. Appeals are
    already filed, so theirs is a record of the window and is updated whatever their state.
    Each change is an event and an audit record on the practitioner.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    rulesets = catalog.rulesets(session)
    done = Recomputed()
    proposals = select(Proposal).where(Proposal.notified_on < last, Proposal.defence_deadline >= first,
                                       col(Proposal.status).in_(("proposed", "confirmed")))
    if not corrected:
        proposals = proposals.where(col(Proposal.defence_deadline_provisional).is_(True))
    for proposal in session.exec(proposals.order_by(Proposal.id).with_for_update()).all():
        due = machine.never_shorter(proposal.defence_deadline, machine.defence_deadline(
            proposal.notified_on, rulesets[proposal.ruleset_id], calendar))
        if proposal.status == "confirmed":
            if proposal.decided_by is None and proposal.decided_on <= due.day:
                done.confirmed_early.append(proposal.id)
            continue
        if (due.day, due.provisional) == (proposal.defence_deadline, proposal.defence_deadline_provisional):
            continue
        _emit(session, caller, "score.defence_deadline_recomputed", session.get(Practitioner, proposal.practitioner_id),
              {"proposal_id": proposal.id, "before": proposal.defence_deadline, "after": due.day,
               "provisional": due.provisional, "calendar_year": year})
        proposal.defence_deadline, proposal.defence_deadline_provisional = due.day, due.provisional
        proposal.updated_at = utcnow()
        session.add(proposal)
        done.proposals.append(proposal.id)
    appeals = select(Appeal).where(Appeal.deadline >= first)
    if not corrected:
        appeals = appeals.where(col(Appeal.deadline_provisional).is_(True))
    for appeal in session.exec(appeals.order_by(Appeal.id).with_for_update()).all():
        row = session.get(LedgerRow, appeal.entry_id)
        counted_from = _counted_from(row)
        if counted_from >= last:
            continue
        due = machine.never_shorter(appeal.deadline, machine.appeal_deadline(
            counted_from, rulesets[row.ruleset_id], calendar))
        if (due.day, due.provisional) == (appeal.deadline, appeal.deadline_provisional):
            continue
        _emit(session, caller, "score.appeal_deadline_recomputed", session.get(Practitioner, appeal.practitioner_id),
              {"appeal_id": appeal.id, "entry_id": appeal.entry_id, "before": appeal.deadline, "after": due.day,
               "provisional": due.provisional, "calendar_year": year})
        appeal.deadline, appeal.deadline_provisional = due.day, due.provisional
        appeal.updated_at = utcnow()
        session.add(appeal)
        done.appeals.append(appeal.id)
    return done

"""一人一档, the dossier: one practitioner's registration, standing, points by year, ledger,
sanctions, due-process record and referrals, read together.

Above the domains it reads (scoring, dueprocess, referrals, practitioners) so that none of them
needs another's service to answer it: dueprocess builds on scoring, and the dossier on both.
"""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from app.auth.roles import Caller
from app.dueprocess import service as dueprocess
from app.kit.timeutil import local_date
from app.practitioners import service as practitioners
from app.referrals import service as referrals
from app.scoring import catalog, ledger, standing
from app.scoring import service as scoring
from app.scoring.models import ScoreCase


def dossier(session: Session, caller: Caller, code: str) -> dict:
    """一人一档: the registration, standing, points by year, every ledger row and every sanction,
    and the due-process record (proposals, defences, appeals, statements)."""
    practitioner = practitioners.get_in_scope(session, caller, code)
    rulesets = catalog.rulesets(session)
    rows = ledger.rows_of(session, practitioner.id)
    timeline = standing.derive(scoring.facts_from_rows(practitioner.registered_on, rows), rulesets)
    reversed_by = {r.target_id: r for r in rows if r.kind == scoring.REVERSAL}
    counting = scoring.counting_acts(r for r in rows if r.kind == scoring.ENTRY and r.id not in reversed_by)
    lifts = {r.target_id: r for r in rows if r.kind == scoring.LIFT}
    cases = {c.id: c for c in session.exec(
        select(ScoreCase).where(col(ScoreCase.id).in_({r.case_id for r in rows if r.case_id}))
    )}
    effective = {s.key: s for s in timeline.sanctions}
    sanctions = []
    announced = {r.id: standing._sanction_from_json(json.loads(r.details)) for r in rows if r.kind == scoring.SANCTION}
    for r in rows:  # the terms last announced, for a lifted one
        if r.kind == scoring.CHANGE and r.target_id in announced:
            announced[r.target_id] = standing._sanction_from_json(json.loads(r.details))
    for r in rows:
        if r.kind != scoring.SANCTION:
            continue
        lift = lifts.get(r.id)
        recorded = announced[r.id]
        current = recorded if lift is not None else effective.get(recorded.key, recorded)
        sanctions.append(scoring.sanction_out(current, r.id, lifted=lift is not None, lift_reason=lift.reason if lift else None))
    entries = []
    for r in rows:
        item = {"id": r.id, "seq": r.seq, "kind": r.kind, "effective_on": r.effective_on.isoformat(),
                "points": r.points, "ruleset": r.ruleset_id, "recorded_at": r.created_at.isoformat()}
        if r.kind == scoring.ENTRY:
            case = cases[r.case_id]
            item.update(violation_type=r.violation_type, tier=r.tier, circumstances=r.circumstances,
                        case_id=case.id, case_ref=case.case_ref, decision_number=case.decision_number,
                        basis=case.basis, institution=case.institution_code,
                        act=json.loads(r.details).get("act"), counts=r.id in counting,
                        reversed=r.id in reversed_by, reversal_reason=reversed_by[r.id].reason if r.id in reversed_by else None)
        elif r.kind == scoring.REPAIR:
            item.update(activity=json.loads(r.details)["activity"], reference=r.reference,
                        points_removed=timeline.repair_effect.get(r.id, 0))
        elif r.kind in (scoring.REVERSAL, scoring.LIFT):
            item.update(target_id=r.target_id, reason=r.reason)
        elif r.kind == scoring.CHANGE:
            item.update(target_id=r.target_id, reason=r.reason, terms=json.loads(r.details))
        entries.append(item)
    years = sorted(timeline.totals)
    return {
        "practitioner": practitioners.describe(session, [practitioner])[0].model_dump(mode="json"),
        "standing": scoring.standing_out(practitioner, timeline, local_date(), rulesets),
        "points_by_year": {
            str(y): {"points": timeline.year_total(y), "repaired": timeline.repaired.get(y, 0)} for y in years
        },
        "ledger": entries,
        "sanctions": sanctions,
        **dueprocess.dossier_section(session, practitioner),
        "referrals": referrals.for_practitioner(session, caller, code),
    }

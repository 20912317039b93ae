"""Who may do what: the role table, kept as data. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.shared import regions


class Role(StrEnum):
    bureau = "bureau"
    partner = "partner"
    checker = "checker"
    admin = "admin"


class Action(StrEnum):
    practitioners_read = "practitioners:read"
    practitioners_write = "practitioners:write"
    standings_read = "standings:read"
    scores_write = "scores:write"
    scores_read = "scores:read"
    # The practitioner's side of due process (defence, appeal, statement), relayed by the bureau system.
    due_process_respond = "due_process:respond"
    notices_publish = "notices:publish"
    rulesets_read = "rulesets:read"
    rulesets_simulate = "rulesets:simulate"
    webhooks_manage = "webhooks:manage"
    referrals_read = "referrals:read"
    referrals_write = "referrals:write"
    referrals_stats = "referrals:stats"
    audit_read = "audit:read"
    calendar_read = "calendar:read"
    calendar_load = "calendar:load"


PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.practitioners_read: frozenset({Role.bureau}),
    Action.practitioners_write: frozenset({Role.bureau}),
    Action.standings_read: frozenset({Role.bureau, Role.checker}),
    Action.scores_write: frozenset({Role.bureau}),
    Action.scores_read: frozenset({Role.bureau}),
    Action.due_process_respond: frozenset({Role.bureau}),
    Action.notices_publish: frozenset({Role.bureau}),
    Action.rulesets_read: frozenset({Role.bureau, Role.partner, Role.checker, Role.admin}),
    # What-if runs of a draft ruleset; each caller sees only its own (others' are 404), and an
    # admin reads practitioner codes masked (see simulations/service.py).
    Action.rulesets_simulate: frozenset({Role.bureau, Role.admin}),
    # Each client manages only its own endpoints (others' are 404, see webhooks/service.py).
    Action.webhooks_manage: frozenset({Role.bureau, Role.partner}),
    # Which referrals and which lifecycle actions is decided per referral by side and department.
    Action.referrals_read: frozenset({Role.bureau, Role.partner}),
    Action.referrals_write: frozenset({Role.bureau, Role.partner}),
    Action.referrals_stats: frozenset({Role.bureau}),
    # Admins read the whole trail; a bureau the records of objects in its region.
    Action.audit_read: frozenset({Role.bureau, Role.admin}),
    # Which years have official holidays loaded: everyone whose deadlines depend on it.
    Action.calendar_read: frozenset({Role.bureau, Role.partner, Role.checker, Role.admin}),
    # Loading or correcting a year moves deadlines nationwide: administrators only.
    Action.calendar_load: frozenset({Role.admin}),
}


@dataclass(frozen=True)
class Caller:
    client_id: int
    name: str
    role: Role
    region: str
    department: str | None = None
    # Who acts: an API client ("client"), a person signed in to the workbench ("user"), or the
    # service itself ("system": CLI, worker). ``client_id`` is that principal's id in its own table.
    kind: str = "client"

    @property
    def principal(self) -> str:
        return f"{self.kind}:{self.client_id}"

    @property
    def api_client_id(self) -> int | None:
        """The API client acting, for columns that reference ``api_clients`` (none for a person)."""
        return self.client_id if self.kind == "client" else None

    @property
    def user_id(self) -> int | None:
        """The workbench user acting, for columns that reference ``workbench_users``."""
        return self.client_id if self.kind == "user" else None

    def may(self, action: Action) -> bool:
        return self.role in PERMISSIONS[action]

    def covers(self, region: str) -> bool:
        return regions.covers(self.region, region)

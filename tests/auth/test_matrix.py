"""The authorization matrix: every route × every role × an object in and out of the caller's scope.

The routes come from the application's own route table, so a route added without a rule here
fails ``test_every_route_has_a_rule``. For each route the matrix checks what a bureau relies on:
- without a key, a protected route is 401 and a public one answers;
- a role the rule does not list is 403, whatever the object;
- a listed role acting on an object in its scope is let through (neither 401, 403 nor 404);
- the same role bound elsewhere (another region, another department, another owner) cannot see
  the object: 404, a 422 naming the region for a create, or a list without it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from app.kit.db import write_session
from app.kit.timeutil import utcnow
from app.main import app as the_app
from app.practitioners.identity import mask_code
from app.scoring.rulesets import BUNDLED_DIR
from app.settings import get_settings
from app.shared.events import Event
from app.webhooks.models import SUCCEEDED, WebhookDelivery
from tests.conftest import practitioner_body
from tests.referrals.conftest import referral_body
from tests.shared_fixtures import REGIONS, violation_with

RULESET = "inner-mongolia-2025"
HOME, INSTITUTION, ID_NUMBER = REGIONS[RULESET]  # 150428 喀喇沁旗
ELSEWHERE = "120101"  # 天津市和平区
ROLES = ("bureau", "partner", "checker", "admin")


@dataclass
class Call:
    method: str
    path: str
    json: dict | None = None
    params: dict | None = None
    marker: str = ""  # text that identifies the object in an answer (must not reach an outsider)
    ndjson: list[dict] | None = None  # a stream of documents, sent as application/x-ndjson instead of json


@dataclass
class Rule:
    roles: frozenset[str]
    # (world, role, headers of that role inside the scope) -> the request; objects are made fresh.
    make: Callable[[World, str, dict], Call]
    # What an outsider is: region (another region), department (partners: another department,
    # bureaus: another region), owner (another client), None (nothing scoped).
    scope: str | None = "region"
    # 404 | 422 | absent (a list or search that leaves the object out) | lines-422 (a stream whose
    # every line is refused)
    outside: str = "404"
    # ``Call.marker`` identifies the object in an answer: an insider must see it, and where the
    # outsider gets a list (absent) it must not be in it.


PUBLIC = frozenset({"anonymous"})


class World:
    """Objects in Karaqin Banner (150428), made by the Inner Mongolia bureau, and keys per role."""

    def __init__(self, api, make_key, clock):
        self.api, self.make_key, self.clock = api, make_key, clock
        self.keys: dict[tuple, dict] = {}
        self.owner = self.key("bureau", "150000")
        self.counter = itertools.count(1)
        self.code = f"D{HOME}000777"

    def key(self, role: str, region: str, department: str | None = None) -> dict:
        if (role, region, department) not in self.keys:
            self.keys[role, region, department] = self.make_key(role, region, department)
        return self.keys[role, region, department]

    def inside(self, role: str) -> dict:
        """A key of ``role`` whose scope holds the world's objects."""
        return {
            "bureau": self.key("bureau", HOME), "partner": self.key("partner", HOME, "health"),
            "checker": self.key("checker", HOME), "admin": self.key("admin", "100000"),
        }[role]

    def outside(self, role: str, scope: str) -> dict:
        """The same role bound elsewhere."""
        department = "health" if role == "partner" else None
        if scope == "owner":
            return self.make_key(role, HOME, department)  # another client, same region
        if scope == "department" and role == "partner":
            return self.key("partner", HOME, "market_regulation")
        return self.key(role, ELSEWHERE, department)

    def ok(self, response, what: str):
        assert response.status_code in (200, 201, 202), f"{what}: {response.status_code} {response.text}"
        return response.json()

    # -- objects ------------------------------------------------------------------------------

    def practitioner(self) -> str:
        body = practitioner_body(region=HOME, institutions=[{"code": INSTITUTION}], id_number=ID_NUMBER)
        self.ok(self.api.put(f"/v1/practitioners/{self.code}", json=body, headers=self.owner), "register")
        return self.code

    def case(self, procedure: str = "completed", points: int = 2) -> dict:
        self.practitioner()
        body = {"case_ref": f"M{next(self.counter)}", "basis": "administrative_penalty",
                "decision_number": "赤医保罚〔2025〕1号", "decision_date": "2025-06-02", "institution": INSTITUTION,
                "procedure": procedure,
                "entries": [{"practitioner": self.code, "violation_type": violation_with(points, RULESET),
                             "points": points}]}
        return self.ok(self.api.post("/v1/score-cases", json=body, headers=self.owner), "case")

    def terminated(self) -> str:
        """The practitioner, terminated by a case of 12 points (the threshold), and today moved
        past the three years in which they may not register again."""
        self.case(points=12)
        self.clock.set("2028-07-01")
        return self.code

    def entry_id(self) -> int:
        return self.case()["entries"][0]["id"]

    def proposal_id(self) -> int:
        return self.case("notify")["entries"][0]["proposal_id"]

    def appeal_id(self) -> int:
        body = {"channel": "institution", "grounds": "处罚决定已被复议撤销"}
        return self.ok(self.api.post(f"/v1/score-entries/{self.entry_id()}/appeals", json=body,
                                     headers=self.owner), "appeal")["id"]

    def notice_id(self, revisions: int = 1) -> int:
        self.case()
        for _ in range(revisions):
            notice = self.ok(self.api.post("/v1/notices", json={"region": HOME, "year": 2025}, headers=self.owner),
                             "notice")
        return notice["id"]

    def referral_id(self) -> int:
        """A case referral sent by the bureau to the health commission."""
        made = self.ok(self.api.post("/v1/referrals", json=referral_body(practitioners=[self.practitioner()]),
                                     headers=self.inside("bureau")), "referral")
        self.ok(self.api.post(f"/v1/referrals/{made['id']}/events", json={"type": "send"},
                              headers=self.inside("bureau")), "send")
        return made["id"]

    def simulation_id(self, headers: dict) -> int:
        return self.ok(self.api.post("/v1/rulesets/simulations", json=_simulation_body(), headers=headers),
                       "simulation")["id"]

    def endpoint_id(self, headers: dict) -> int:
        body = {"url": "http://127.0.0.1:9/hook", "event_types": ["referral.created"]}
        return self.ok(self.api.post("/v1/webhook-endpoints", json=body, headers=headers), "endpoint")["id"]

    def delivery_id(self, headers: dict) -> int:
        endpoint_id = self.endpoint_id(headers)
        with write_session() as session:
            event = Event(type="referral.created", subject="referral:0", region=HOME, payload="{}")
            session.add(event)
            session.flush()
            delivery = WebhookDelivery(endpoint_id=endpoint_id, event_id=event.id, event_type=event.type,
                                       subject=event.subject, msg_id=f"msg_matrix_{event.id}", status=SUCCEEDED,
                                       next_attempt_at=utcnow())
            session.add(delivery)
            session.commit()
            return delivery.id



def _id(value: int) -> str:
    return f'"id":{value}'


def _case_body(w: World) -> dict:
    return {"case_ref": f"X{next(w.counter)}", "basis": "administrative_penalty",
            "decision_number": "赤医保罚〔2025〕2号", "decision_date": "2025-06-02", "institution": INSTITUTION,
            "entries": [{"practitioner": w.practitioner(), "violation_type": violation_with(2, RULESET), "points": 2}]}


def _repair(w: World) -> Call:
    w.case()
    return Call("POST", f"/v1/practitioners/{w.code}/repairs",
                {"activity": "policy_training", "occurred_on": "2025-06-20", "reference": f"R{next(w.counter)}"})


def _referral_body(w: World, role: str) -> dict:
    recipient = "bureau" if role == "partner" else "health"
    return referral_body(recipient=recipient, practitioners=[w.practitioner()])


def _simulation_body() -> dict:
    draft = (BUNDLED_DIR / f"{RULESET}.toml").read_text(encoding="utf-8")
    return {"draft": draft, "region": HOME, "year": 2025}


def _endpoint_body() -> dict:
    return {"url": "http://127.0.0.1:9/hook", "event_types": ["referral.created"]}


def public(path: str) -> Rule:
    return Rule(PUBLIC, lambda w, r, h: Call("GET", path), None)


def public_notice(suffix: str = "", prefix: str = "/v1/notices", revisions: int = 1) -> Rule:
    return Rule(PUBLIC, lambda w, r, h: Call("GET", f"{prefix}/{w.notice_id(revisions)}{suffix}"), None)


BUREAU = frozenset({"bureau"})
STANDING = frozenset({"bureau", "checker"})
REFERRALS = frozenset({"bureau", "partner"})
WEBHOOKS = frozenset({"bureau", "partner"})
ANY_ROLE = frozenset(ROLES)
SIMULATE = frozenset({"bureau", "admin"})

RULES: dict[tuple[str, str], Rule] = {
    # Public: health, the schema and the published notices.
    **{("GET", path): public(path) for path in (
        "/healthz", "/readyz", "/metrics", "/bench/bare", "/openapi.json", "/docs", "/docs/init.js",
        "/v1/notices")},
    ("GET", "/v1/notices/{notice_id}"): public_notice(),
    ("GET", "/v1/notices/{notice_id}/csv"): public_notice("/csv"),
    ("GET", "/v1/notices/{notice_id}/delta"): public_notice("/delta", revisions=2),
    ("GET", "/notices/{notice_id}"): public_notice(prefix="/notices"),
    # The catalogue is the same for everyone with a key.
    ("GET", "/v1/violation-types"): Rule(ANY_ROLE, lambda w, r, h: Call("GET", "/v1/violation-types"), None),
    ("GET", "/v1/rulesets"): Rule(ANY_ROLE, lambda w, r, h: Call("GET", "/v1/rulesets"), None),
    ("GET", "/v1/rulesets/{ruleset_id}"): Rule(ANY_ROLE, lambda w, r, h: Call("GET", f"/v1/rulesets/{RULESET}"), None),
    # What-if simulations of draft rulesets: each caller sees only its own.
    ("POST", "/v1/rulesets/simulations"): Rule(SIMULATE, lambda w, r, h: Call(
        "POST", "/v1/rulesets/simulations", _simulation_body()), outside="422"),
    ("GET", "/v1/rulesets/simulations"): Rule(SIMULATE, lambda w, r, h: Call(
        "GET", "/v1/rulesets/simulations", marker=_id(w.simulation_id(h))), "owner", "absent"),
    ("GET", "/v1/rulesets/simulations/{simulation_id}"): Rule(SIMULATE, lambda w, r, h: Call(
        "GET", f"/v1/rulesets/simulations/{w.simulation_id(h)}"), "owner"),
    ("GET", "/v1/rulesets/simulations/{simulation_id}/report"): Rule(SIMULATE, lambda w, r, h: Call(
        "GET", f"/v1/rulesets/simulations/{w.simulation_id(h)}/report", params={"format": "html"}), "owner"),
    # Registry.
    ("PUT", "/v1/practitioners/{code}"): Rule(BUREAU, lambda w, r, h: Call(
        "PUT", f"/v1/practitioners/{w.practitioner()}",
        practitioner_body(region=HOME, institutions=[{"code": INSTITUTION}], id_number=ID_NUMBER, name="王某"))),
    ("GET", "/v1/practitioners/{code}"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", f"/v1/practitioners/{w.practitioner()}", marker=w.code)),
    ("PUT", "/v1/institutions/{code}"): Rule(BUREAU, lambda w, r, h: Call(
        "PUT", f"/v1/institutions/{INSTITUTION}", {"name": "喀喇沁旗医院"}, marker=INSTITUTION)),
    ("GET", "/v1/institutions/{code}"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", f"/v1/institutions/{w.practitioner() and INSTITUTION}", marker=INSTITUTION)),
    ("GET", "/v1/institutions"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", "/v1/institutions", marker=w.practitioner() and INSTITUTION), outside="absent"),
    ("GET", "/v1/practitioners"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", "/v1/practitioners", marker=w.practitioner()), outside="absent"),
    ("POST", "/v1/practitioners/search"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", "/v1/practitioners/search", {"id_number": ID_NUMBER}, marker=w.practitioner()), outside="absent"),
    # Scoring.
    ("POST", "/v1/score-cases"): Rule(BUREAU, lambda w, r, h: Call("POST", "/v1/score-cases", _case_body(w)),
                                      outside="422"),
    ("POST", "/v1/score-cases/bulk"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", "/v1/score-cases/bulk", ndjson=[_case_body(w)]), outside="lines-422"),
    ("GET", "/v1/score-cases/{case_id}"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", f"/v1/score-cases/{w.case()['id']}")),
    ("POST", "/v1/score-entries/{entry_id}/reversal"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-entries/{w.entry_id()}/reversal", {"reason": "决定被撤销"})),
    ("POST", "/v1/practitioners/{code}/repairs"): Rule(BUREAU, lambda w, r, h: _repair(w)),
    ("POST", "/v1/practitioners/{code}/registrations"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/practitioners/{w.terminated()}/registrations", {"registered_on": "2028-06-20"})),
    # National: any settlement system may ask whether any registered person may bill.
    ("GET", "/v1/practitioners/{code}/standing"): Rule(STANDING, lambda w, r, h: Call(
        "GET", f"/v1/practitioners/{w.practitioner()}/standing", marker=w.code), scope=None),
    ("POST", "/v1/standings/query"): Rule(STANDING, lambda w, r, h: Call(
        "POST", "/v1/standings/query", {"codes": [w.practitioner()]}, marker='"found":true'), scope=None),
    # The standing feed and its snapshot: what settlement systems mirror, nationally, as they check.
    # (No marker on the feed: on a shared PostgreSQL server a change may be served a moment later.)
    ("GET", "/v1/standings/changes"): Rule(STANDING, lambda w, r, h: Call(
        "GET", "/v1/standings/changes", params={"limit": 10} if w.practitioner() else None), scope=None),
    ("GET", "/v1/standings/snapshot"): Rule(STANDING, lambda w, r, h: Call(
        "GET", "/v1/standings/snapshot", marker=w.practitioner()), scope=None),
    ("GET", "/v1/practitioners/{code}/dossier"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", f"/v1/practitioners/{w.case() and w.code}/dossier", marker=w.code)),
    # Due process.
    ("GET", "/v1/score-proposals"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", "/v1/score-proposals", marker=_id(w.proposal_id())), outside="absent"),
    ("GET", "/v1/score-proposals/{proposal_id}"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", f"/v1/score-proposals/{w.proposal_id()}")),
    ("POST", "/v1/score-proposals/{proposal_id}/defence"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-proposals/{w.proposal_id()}/defence", {"channel": "practitioner", "text": "非本人操作"})),
    ("POST", "/v1/score-proposals/{proposal_id}/confirmation"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-proposals/{w.proposal_id()}/confirmation", {"reason": "经审核"})),
    ("POST", "/v1/score-proposals/{proposal_id}/withdrawal"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-proposals/{w.proposal_id()}/withdrawal", {"reason": "经审核"})),
    ("POST", "/v1/score-entries/{entry_id}/appeals"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-entries/{w.entry_id()}/appeals", {"channel": "institution", "grounds": "已撤销"})),
    ("GET", "/v1/score-appeals"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", "/v1/score-appeals", marker=_id(w.appeal_id())), outside="absent"),
    ("GET", "/v1/score-appeals/{appeal_id}"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", f"/v1/score-appeals/{w.appeal_id()}")),
    ("POST", "/v1/score-appeals/{appeal_id}/decision"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-appeals/{w.appeal_id()}/decision", {"outcome": "rejected", "reason": "维持"})),
    ("POST", "/v1/score-entries/{entry_id}/statements"): Rule(BUREAU, lambda w, r, h: Call(
        "POST", f"/v1/score-entries/{w.entry_id()}/statements", {"channel": "practitioner", "text": "陈述"})),
    # Notices.
    ("POST", "/v1/notices"): Rule(BUREAU, lambda w, r, h: Call("POST", "/v1/notices", {"region": HOME, "year": 2025})),
    # Referrals: a partner department sees what is addressed to it or sent by it.
    ("POST", "/v1/referrals"): Rule(REFERRALS, lambda w, r, h: Call("POST", "/v1/referrals", _referral_body(w, r)),
                                    outside="422"),
    ("GET", "/v1/referrals"): Rule(REFERRALS, lambda w, r, h: Call(
        "GET", "/v1/referrals", marker=_id(w.referral_id())), "department", "absent"),
    ("GET", "/v1/referrals/stats"): Rule(BUREAU, lambda w, r, h: Call(
        "GET", "/v1/referrals/stats", params={"year": 2025, "region": HOME}), outside="422"),
    ("GET", "/v1/referrals/{referral_id}"): Rule(REFERRALS, lambda w, r, h: Call(
        "GET", f"/v1/referrals/{w.referral_id()}"), "department"),
    ("POST", "/v1/referrals/{referral_id}/events"): Rule(REFERRALS, lambda w, r, h: Call(
        "POST", f"/v1/referrals/{w.referral_id()}/events",
        {"type": "receive"} if r == "partner" else {"type": "withdraw", "reason": "重复移送"}), "department"),
    # Audit trail: admins everything, a bureau its region.
    # An admin reads practitioner codes masked.
    ("GET", "/v1/audit"): Rule(frozenset({"bureau", "admin"}), lambda w, r, h: Call(
        "GET", "/v1/audit", params={"object": f"practitioner:{w.practitioner()}"},
        marker=mask_code(w.code) if r == "admin" else w.code),
        outside="absent"),
    # The working-day calendar: everyone reads it, administrators load a year (nationwide, so unscoped).
    ("GET", "/v1/calendar/years"): Rule(ANY_ROLE, lambda w, r, h: Call("GET", "/v1/calendar/years"), None),
    ("GET", "/v1/calendar/years/{year}"): Rule(ANY_ROLE, lambda w, r, h: Call("GET", "/v1/calendar/years/2025"), None),
    ("PUT", "/v1/calendar/years/{year}"): Rule(frozenset({"admin"}), lambda w, r, h: Call(
        "PUT", "/v1/calendar/years/2027", {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}),
        None),
    # Webhooks: each client manages only its own endpoints.
    ("POST", "/v1/webhook-endpoints"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "POST", "/v1/webhook-endpoints", _endpoint_body()), None),
    ("GET", "/v1/webhook-endpoints"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "GET", "/v1/webhook-endpoints", marker=_id(w.endpoint_id(h))), "owner", "absent"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "GET", f"/v1/webhook-endpoints/{w.endpoint_id(h)}"), "owner"),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "PATCH", f"/v1/webhook-endpoints/{w.endpoint_id(h)}", {"description": "对账"}), "owner"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "DELETE", f"/v1/webhook-endpoints/{w.endpoint_id(h)}"), "owner"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "POST", f"/v1/webhook-endpoints/{w.endpoint_id(h)}/rotate-secret"), "owner"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "GET", f"/v1/webhook-endpoints/{w.endpoint_id(h)}/deliveries"), "owner"),
    ("POST", "/v1/deliveries/{delivery_id}/redeliver"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "POST", f"/v1/deliveries/{w.delivery_id(h)}/redeliver"), "owner"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/recover"): Rule(WEBHOOKS, lambda w, r, h: Call(
        "POST", f"/v1/webhook-endpoints/{w.endpoint_id(h)}/recover", {"since": "2025-01-01T00:00:00Z"}), "owner"),
}


def route_table(app) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves, HEAD aside."""
    found = set()
    for route in app.routes:
        inner = getattr(route, "original_router", None)  # an included router
        for leaf in inner.routes if inner is not None else [route]:
            if isinstance(leaf, (APIRoute, Route)):
                found |= {(method, leaf.path) for method in leaf.methods or () if method != "HEAD"}
    return found


def test_every_route_has_a_rule():
    # The workbench's pages authenticate people by session, not keys: tests/workbench/test_scope.py.
    served = {(m, p) for m, p in route_table(the_app) if not p.startswith("/workbench/")}
    assert served - RULES.keys() == set(), "routes without an authorization rule"
    assert RULES.keys() - served == set(), "rules for routes that no longer exist"


def send_call(api, call: Call, headers: dict):
    if call.ndjson is not None:
        body = b"".join(json.dumps(document).encode() + b"\n" for document in call.ndjson)
        return api.request(call.method, call.path, content=body, params=call.params,
                           headers={**headers, "Content-Type": "application/x-ndjson"})
    return api.request(call.method, call.path, json=call.json, params=call.params, headers=headers)


def _shows(response, marker: str) -> bool:
    return re.search(re.escape(marker) + r"(?![0-9])", response.text) is not None


@pytest.fixture
def world(api, make_key, clock, monkeypatch):
    clock.set("2025-07-01")
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", ["127.0.0.1:9"])  # the endpoints' URL
    return World(api, make_key, clock)


@pytest.mark.parametrize("route", sorted(RULES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route(world, api, route):
    rule = RULES[route]
    # Anonymous: the object is made as a bureau would, the request goes without a key.
    call = rule.make(world, "bureau", world.inside("bureau"))
    response = send_call(api, call, {})
    if rule.roles == PUBLIC:
        assert response.status_code < 400, response.text
        return
    assert response.status_code == 401, response.text

    for role in ROLES:
        inside = world.inside(role)
        if role not in rule.roles:
            # Objects are made with a key that may make them; the refused role then asks for them.
            call = rule.make(world, role, world.inside("bureau"))
            response = send_call(api, call, inside)
            assert response.status_code == 403, f"{role}: {response.status_code} {response.text}"
            continue
        call = rule.make(world, role, inside)
        response = send_call(api, call, inside)
        assert response.status_code not in (401, 403, 404), f"{role} inside: {response.status_code} {response.text}"
        if call.marker:
            assert _shows(response, call.marker), f"{role} inside should see {call.marker}: {response.text}"
        if rule.scope is None or role == "admin":
            continue
        call = rule.make(world, role, inside)
        response = send_call(api, call, world.outside(role, rule.scope))
        what = f"{role} outside: {response.status_code} {response.text}"
        if rule.outside == "absent":
            assert response.status_code == 200, what
            assert not _shows(response, call.marker), what
        elif rule.outside == "lines-422":
            assert response.status_code == 200, what
            *lines, summary = [json.loads(line) for line in response.text.splitlines()]
            assert lines and all(line["status"] == 422 for line in lines), what
            assert summary["summary"]["created"] == 0, what
        else:
            assert response.status_code == int(rule.outside), what

"""The workbench pages under /workbench/. Each route reads a form or a query, calls the same
service the API router calls with the signed-in user as the caller, and renders a template."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi_problem.error import Problem
from sqlmodel import Session

from app.auth.roles import Action, Caller, Role
from app.auth.service import names_of
from app.dossier import service as dossiers
from app.kit import keyring
from app.kit.db import ReadSession, WriteSession
from app.kit.errors import Conflict, IllegalTransition, Invalid
from app.kit.messages import chinese, t
from app.kit.routes import api_router
from app.kit.timeutil import local_date
from app.notices import service as notices
from app.practitioners import identity
from app.referrals import service as referrals
from app.referrals.machine import Action as Step
from app.referrals.machine import Kind, State
from app.referrals.schemas import BUREAU, Direction, EventIn, PenaltyKind, ReferralOut
from app.scoring import catalog
from app.settings import get_settings
from app.workbench import forms, labels, rules, service
from app.workbench.service import Current, SignInLocked, SignInRefused
from app.workbench.web import (
    PREFIX,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    CheckedForm,
    SignedIn,
    SignInRequired,
    WorkbenchRoute,
    clear_cookie,
    error_page,
    may,
    render,
    see_other,
    set_cookie,
    signed_in,
    tokens_match,
)

router = api_router(prefix=PREFIX, route_class=WorkbenchRoute, include_in_schema=False)

Reader = Annotated[Current, Depends(may(Action.referrals_read))]
Writer = Annotated[Current, Depends(may(Action.referrals_write))]
StatsReader = Annotated[Current, Depends(may(Action.referrals_stats))]
Publisher = Annotated[Current, Depends(may(Action.notices_publish))]
DossierReader = Annotated[Current, Depends(may(Action.practitioners_read))]

# What the pages say after a step went through (the redirect carries the action).
DONE = {**{a: f"已{labels.ACTIONS[a]}" for a in labels.ACTIONS}, "conclude": "已提交结案反馈", "extend": "已延期",
        "remind": "已催办", "create": "已保存为草稿"}


# ---------------------------------------------------------------- sign-in and sign-out


def sign_in_key() -> bytes:
    # Derived from the master secret like every other key (app/kit/keyring.py); rotating it only makes
    # an open sign-in form ask to be reloaded.
    return keyring.derive(get_settings().id_encryption_key, b"workbench sign-in form")


def _safe_next(target: str | None) -> str:
    """Only a path of the workbench itself: never an open redirect to another site."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def _sign_in_page(request: Request, status_code: int = 200, *, name: str = "", next_: str = "",
                  message: str | None = None, headers: dict | None = None):
    token = rules.signed_token(sign_in_key())
    response = render(request, "login.html", status_code, csrf_token=token, name=name, next=next_,
                      message=message, signed_out="signed_out" in request.query_params)
    set_cookie(response, request, SIGN_IN_COOKIE, token, max_age=3600)
    response.headers.update(headers or {})
    return response


@router.get("/login")
def sign_in_form(request: Request, next: Annotated[str, Query(max_length=500)] = ""):
    try:
        signed_in(request)
        return see_other(_safe_next(next))
    except SignInRequired:
        return _sign_in_page(request, next_=next)


@router.post("/login")
def sign_in(request: Request, session: WriteSession,
            name: Annotated[str, Form(max_length=100)] = "", password: Annotated[str, Form(max_length=1000)] = "",
            csrf_token: Annotated[str, Form(max_length=200)] = "", next: Annotated[str, Form(max_length=500)] = ""):
    if not (tokens_match(csrf_token, request.cookies.get(SIGN_IN_COOKIE)) and rules.is_signed(csrf_token, sign_in_key())):
        return error_page(request, 403, "请求被拒绝", "登录表单已过期或不是从本系统页面提交的，请刷新登录页后重试。")
    address = request.client.host if request.client else "unknown"
    try:
        done = service.sign_in(session, name, password, address)
    except SignInLocked as exc:
        seconds = exc.extras["retry_after"]
        return _sign_in_page(request, 429, name=name, next_=next, headers={"Retry-After": str(seconds)},
                             message=f"登录失败次数过多，已暂时锁定。请在 {seconds} 秒后再试。")
    except SignInRefused:
        return _sign_in_page(request, 401, name=name, next_=next, message="用户名或密码错误。")
    response = see_other(_safe_next(next))
    set_cookie(response, request, SESSION_COOKIE, done.token,
               max_age=get_settings().workbench_session_max_hours * 3600)
    clear_cookie(response, request, SIGN_IN_COOKIE)
    return response


@router.post("/logout")
def sign_out(request: Request, current: SignedIn, _form: CheckedForm, session: WriteSession):
    service.sign_out(session, current)
    response = see_other(f"{PREFIX}/login?signed_out=1")
    clear_cookie(response, request, SESSION_COOKIE)
    return response


@router.get("/")
def home(_current: SignedIn):
    return see_other(f"{PREFIX}/inbox")


# ---------------------------------------------------------------- referrals


@router.get("/inbox")
def inbox(request: Request, current: Reader, session: ReadSession):
    """Referrals addressed to the user's side that owe a step: overdue first, then by deadline."""
    items, more = referrals.awaiting_recipient(session, current.caller, limit=200)
    return render(request, "inbox.html", items=items, more=more, today=local_date())


def _values(form) -> dict:
    """What the user typed, to show again beside the errors (never the CSRF token)."""
    values = {k: form.get(k) for k in form.keys() if k != "csrf_token"}
    values["penalty_kinds"] = form.getlist("penalty_kinds")
    return values


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/referrals")
def referral_list(
    request: Request, current: Reader, session: ReadSession,
    direction: Annotated[str, Query(max_length=20)] = "", department: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=20)] = "", kind: Annotated[str, Query(max_length=20)] = "",
    region: Annotated[str, Query(max_length=6)] = "", year: Annotated[str, Query(max_length=4)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "", cursor: Annotated[int | None, Query(ge=0)] = None,
):
    filters = {"direction": direction, "department": department, "status": status, "kind": kind,
               "region": region, "year": year, "overdue": overdue}
    items, next_cursor, problem = [], None, None
    try:
        items, next_cursor = referrals.list_referrals(
            session, current.caller, direction=_choice(direction, Direction, "direction"),
            department=_blank_to_none(department), status=_choice(status, State, "status"),
            kind=_choice(kind, Kind, "kind"), region=_blank_to_none(region), year=_year(year),
            overdue={"true": True, "false": False}.get(overdue), limit=100, cursor=cursor)
    except Invalid as exc:
        problem = exc
    more = f"?{urlencode({**{k: v for k, v in filters.items() if v}, 'cursor': next_cursor})}" if next_cursor else None
    return render(request, "referrals.html", 422 if problem else 200, items=items, filters=filters, more=more,
                  problem=problem, departments=referrals.departments(), states=list(State), today=local_date())


def _choice(value: str, enum, field: str):
    value = value.strip()
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise Invalid(t("'{value}' is not one of {choices}", value=value, choices=list(enum)), field=f"query.{field}") from None


def _year(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise Invalid(t("must be a year between 2000 and 2100"), field="query.year")
    return int(value)


def _actor_names(session: Session, referral: ReferralOut) -> dict[str, str]:
    """Who took each step, by ``client:N`` / ``user:N``: names from the clients and the users."""
    steps = referral.history or []
    clients = names_of(session, {s.client_id for s in steps if s.client_id is not None})
    user_ids = {s.user_id for s in steps if s.user_id is not None}
    users = {u.id: u.name for u in service.users_by_id(session, user_ids)}
    return {**{f"client:{k}": v for k, v in clients.items()}, **{f"user:{k}": v for k, v in users.items()}}


def _referral_page(request: Request, session: Session, caller: Caller, referral_id: int, status_code: int = 200,
                   **context):
    referral = referrals.get(session, caller, referral_id)
    context = {"errors": {}, "values": {}, **context}
    return render(request, "referral.html", status_code, r=referral, names=_actor_names(session, referral),
                  today=local_date(), penalty_kinds=list(PenaltyKind), **context)


@router.get("/referrals/new")
def new_referral_form(request: Request, current: Writer):
    return _new_referral_page(request, current.caller)


def _new_referral_page(request: Request, caller: Caller, status_code: int = 200, **context):
    enabled = referrals.departments()
    if caller.role == Role.bureau:
        choices = {code: dept.clue_categories for code, dept in enabled.items()}
    else:
        choices = {caller.department: enabled[caller.department].clue_categories} if caller.department in enabled else {}
    context.setdefault("values", {"region": caller.region, "send_now": "1"})
    return render(request, "referral_new.html", status_code, choices=choices, idempotency_key=rules.new_token(),
                  errors=context.pop("errors", {}), message=context.pop("message", None), today=local_date(),
                  **context)


@router.post("/referrals")
def create_referral(request: Request, current: Writer, form: CheckedForm, session: WriteSession):
    """Draw up a referral and, unless kept as a draft, send it. The form's idempotency key makes
    a second submission return the first referral instead of a copy."""
    caller = current.caller
    recipient = (form.get("department") or "") if caller.role == Role.bureau else BUREAU
    try:
        body = forms.referral_in(form, recipient)
        referral, _created = referrals.create(session, caller, body, (form.get("idempotency_key") or None))
        if form.get("send_now") and referral.status == State.draft:
            referral = referrals.post_event(session, caller, referral.id, EventIn(type=Step.send))
    except forms.FormErrors as exc:
        session.rollback()
        return _new_referral_page(request, caller, 422, values=_values(form), errors=exc.errors)
    except Invalid as exc:
        session.rollback()
        return _new_referral_page(request, caller, 422, values=_values(form), errors=forms.problem_errors(exc.extras.get("errors")),
                                  message=chinese(exc.detail))
    done = "send" if referral.status == State.sent else "create"
    return see_other(f"{PREFIX}/referrals/{referral.id}?done={done}")


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, referral_id: int, current: Reader, session: ReadSession,
                  done: Annotated[str, Query(max_length=20)] = ""):
    return _referral_page(request, session, current.caller, referral_id, done=DONE.get(done))


@router.get("/referrals/{referral_id}/print")
def referral_print(request: Request, referral_id: int, current: Reader, session: ReadSession):
    referral = referrals.get(session, current.caller, referral_id)
    return render(request, "referral_print.html", r=referral, names=_actor_names(session, referral),
                  today=local_date())


@router.post("/referrals/{referral_id}/events")
def referral_step(request: Request, referral_id: int, current: Writer, form: CheckedForm, session: WriteSession):
    """One lifecycle step. A step the state machine refuses shows the service's message on the
    referral page (409), with the steps allowed now."""
    caller = current.caller
    action = form.get("action") or ""
    try:
        body = forms.event_in(form)
        referrals.post_event(session, caller, referral_id, body, after_step=forms.whole_number(form, "after_step"))
    except forms.FormErrors as exc:
        session.rollback()
        return _referral_page(request, session, caller, referral_id, 422, errors=exc.errors, values=_values(form),
                              failed=action)
    except IllegalTransition as exc:
        session.rollback()
        return _referral_page(request, session, caller, referral_id, 409, illegal=exc)
    except Conflict as exc:
        session.rollback()
        return _referral_page(request, session, caller, referral_id, 409, stale=exc)
    except Invalid as exc:
        session.rollback()
        return _referral_page(request, session, caller, referral_id, 422, values=_values(form), failed=action,
                              errors=forms.problem_errors(exc.extras.get("errors")), problem=exc)
    return see_other(f"{PREFIX}/referrals/{referral_id}?done={action}")


# ---------------------------------------------------------------- bureau: practitioners, figures, notices


@router.get("/practitioners")
def practitioner_lookup(request: Request, current: DossierReader,
                        code: Annotated[str, Query(max_length=20)] = ""):
    code = code.strip().upper()
    if code:
        problem = identity.practitioner_code_problem(code)
        if problem is None:
            return see_other(f"{PREFIX}/practitioners/{code}")
        return render(request, "practitioner_lookup.html", 422, code=code, problem=problem)
    return render(request, "practitioner_lookup.html", code="", problem=None)


@router.get("/practitioners/{code}")
def practitioner_page(request: Request, code: str, current: DossierReader, session: ReadSession):
    """Standing, points by year and the whole dossier (一人一档)."""
    problem = identity.practitioner_code_problem(code)
    if problem is not None:
        return render(request, "practitioner_lookup.html", 422, code=code, problem=problem)
    dossier = dossiers.dossier(session, current.caller, code)
    violation_names = {v.code: v.name for rs in catalog.rulesets(session).values() for v in rs.violation_types}
    return render(request, "practitioner.html", d=dossier, violation_names=violation_names, today=local_date())


@router.get("/stats")
def stats_page(request: Request, current: StatsReader, session: ReadSession,
               year: Annotated[str, Query(max_length=4)] = "", region: Annotated[str, Query(max_length=6)] = "",
               published: Annotated[int | None, Query(ge=1)] = None):
    """The year's referral figures by department and direction, and the notice to publish."""
    return _stats_page(request, session, current.caller, year, region, published=published)


def _stats_page(request: Request, session: Session, caller: Caller, year: str, region: str, status_code: int = 200,
                **context):
    today = local_date()
    problem, figures, latest = None, None, None
    try:
        year_number = _year(year) or today.year
        figures = referrals.stats(session, caller, year_number, _blank_to_none(region))
        latest = notices.latest(session, figures.region, year_number)
    except Invalid as exc:
        problem = exc
        status_code = 422 if status_code == 200 else status_code  # a refused publication keeps its own
        year_number = today.year
    published = context.pop("published", None)
    published_notice = notices.get(session, published) if published else None
    return render(request, "stats.html", status_code, figures=figures, latest=latest, problem=problem,
                  year=year_number, region=region or caller.region, today=today,
                  published=published_notice, errors=context.pop("errors", {}), **context)


@router.post("/notices")
def publish_notice(request: Request, current: Publisher, form: CheckedForm, session: WriteSession):
    """Freeze the year's public notice for a region. The form names the revision it was shown,
    so sending it twice publishes once."""
    caller = current.caller
    try:
        body = forms.notice_in(form)
        notice = notices.publish(session, caller, region=body.region, year=body.year, as_of=body.as_of,
                                 contact=body.contact, follows_revision=forms.whole_number(form, "follows_revision"))
    except forms.FormErrors as exc:
        session.rollback()
        return _stats_page(request, session, caller, form.get("year") or "", form.get("region") or "", 422,
                           errors=exc.errors, publish_problem=None)
    except Problem as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        session.rollback()
        return _stats_page(request, session, caller, form.get("year") or "", form.get("region") or "", exc.status,
                           errors=forms.problem_errors(exc.extras.get("errors")), publish_problem=exc)
    query = urlencode({"year": notice.year, "region": notice.region, "published": notice.id})
    return see_other(f"{PREFIX}/stats?{query}")

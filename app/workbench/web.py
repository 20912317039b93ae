"""The web plumbing of the workbench: templates, the session cookie, CSRF, and error pages.

Every page is rendered on the server and every action is a plain form POST, so the pages work
without scripts. Errors raised by the services (problem types) become pages in Chinese with the
service's own message, never a JSON body or a stack trace.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.templating import Jinja2Templates
from fastapi_problem.error import Problem
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from app.auth.roles import Action
from app.kit.db import read_session, write_session
from app.kit.errors import Forbidden
from app.kit.messages import CHINESE, chinese, t
from app.kit.messages import title as problem_title
from app.kit.pageheaders import is_production, page_headers
from app.kit.routes import CheckedRoute
from app.workbench import labels, service
from app.workbench.service import Current

HERE = Path(__file__).resolve().parent
PREFIX = "/workbench"
SESSION_COOKIE = "wb_session"
SIGN_IN_COOKIE = "wb_sign_in"  # the sign-in form's CSRF token: there is no session yet to bind it to

templates = Jinja2Templates(directory=str(HERE / "templates"))
labels.install(templates.env)

# Pages carry personal data and act on the user's behalf: no caching, no framing, no third parties.
# Their styles and scripts are files under static/, nothing inline.
def security_headers() -> dict[str, str]:
    return page_headers(private=True)


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class CsrfRefused(Exception):
    """A form without the token of the session it was posted in."""


def is_https(request: Request) -> bool:
    """Whether cookies are marked Secure: always in production, where the service is reached over
    TLS whatever the proxy in front says; elsewhere when the request came over HTTPS (the scheme
    comes from X-Forwarded-Proto only from a trusted proxy, APP_TRUSTED_PROXIES)."""
    return is_production() or request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="lax",
                        secure=is_https(request))


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path=PREFIX, httponly=True, samesite="lax", secure=is_https(request))


def render(request: Request, template: str, status_code: int = 200, **context) -> Response:
    current = getattr(request.state, "workbench", None)
    response = templates.TemplateResponse(request, template, {"me": current, **context}, status_code=status_code)
    response.headers.update(security_headers())
    return response


def error_page(request: Request, status_code: int, title: str, message: str, detail: str | None = None) -> Response:
    return render(request, "error.html", status_code, title=title, message=message, detail=detail)


def see_other(url: str) -> RedirectResponse:
    """After a POST: the browser fetches the result with a GET (reloading it repeats nothing)."""
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- the signed-in user


def signed_in(request: Request) -> Current:
    """The user of the session cookie, as the caller every service call of the request uses."""
    token = request.cookies.get(SESSION_COOKIE)
    # A session of its own, closed before the page's: one pooled connection per request at a time.
    with read_session() as session:
        found = service.current(session, token) if token else None
    if found is None:
        raise SignInRequired()
    current, touch_due = found
    if touch_due:
        with write_session() as session:
            service.touch(session, current.session_id)
    request.state.caller = current.caller  # what the audit trail and the request log read
    request.state.workbench = current
    return current


SignedIn = Annotated[Current, Depends(signed_in)]


def may(action: Action) -> Callable[..., Current]:
    """Dependency factory: the signed-in user, if their role may ``action`` (the API's rule)."""

    def dependency(current: SignedIn) -> Current:
        if not current.caller.may(action):
            raise Forbidden(t("Role '{role}' may not {action}", role=current.caller.role, action=action.value))
        return current

    return dependency


def tokens_match(sent: str | None, expected: str | None) -> bool:
    return bool(sent) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


async def checked_form(request: Request, current: SignedIn) -> FormData:
    """The posted form, once its CSRF token is the session's."""
    form = await request.form()
    if not tokens_match(form.get("csrf_token"), current.csrf_token):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


# ---------------------------------------------------------------- error pages


class WorkbenchRoute(CheckedRoute):
    """Routes whose errors are pages: sign-in redirects, 403 for a refused form or role, 404 for
    anything outside the user's scope (as the API answers), the service's message otherwise."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = PREFIX + "/"
                return see_other(f"{PREFIX}/login?next={quote(target, safe='')}")
            except CsrfRefused:
                return error_page(request, 403, "请求被拒绝",
                                  "表单已过期或不是从本系统页面提交的（CSRF 校验未通过），操作未执行。请返回页面刷新后重试。")
            except RequestValidationError as exc:
                fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
                return error_page(request, 422, "请求参数有误", "地址或表单中的参数无效。",
                                  chinese(t("Invalid fields: {fields}", fields=fields)))
            except Problem as exc:
                return _problem_page(request, exc)
            response.headers.update(security_headers())
            return response

        return route


def _problem_page(request: Request, exc: Problem) -> Response:
    if exc.status == 404:
        return error_page(request, 404, "未找到", "没有找到该页面或记录，或它不在您的辖区与职责范围内。", chinese(exc.detail))
    if exc.status == 403:
        return error_page(request, 403, "无权操作", "您的角色不能使用此功能。", chinese(exc.detail))
    if exc.status >= 500:
        return error_page(request, exc.status, "系统错误", "处理时出错，错误已记录。请稍后重试。")
    return error_page(request, exc.status, "操作未执行", problem_title(exc.type, exc.status, exc.title or "", CHINESE),
                      chinese(exc.detail))

"""Refuse NUL characters (U+0000) in a request, naming the field, before any route sees it; and a
JSON body nested too deep to parse.

PostgreSQL cannot store U+0000 in text and fails the insert (a 500), while SQLite stores it: the
same request must get the same answer on both, and a NUL in a name or a reference has no honest
use. JSON carries it as the escape ``\\u0000``, a form or query string as ``%00``; the check is a
bytes search, and only a request that has one is parsed to name the field. Pure ASGI middleware:
the body is read in full (after the size limit, which runs outside this) and handed on as it came.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from app.kit.errors import field_error, raw_problem, validation_problem
from app.kit.messages import t

MESSAGE = t("must not contain NUL characters (U+0000)")


class NulCharacterMiddleware:
    """``streams``: paths whose body is a stream the route reads line by line and checks itself
    (``nul_fields`` on each line), rather than one document read here in full."""

    def __init__(self, app, *, streams: frozenset[str] = frozenset()):
        self.app, self.streams = app, streams

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope.get("path", ""):
            return await _refuse(scope, send, [field_error("path", MESSAGE, "string_nul")])
        query = scope.get("query_string", b"")
        if b"%00" in query:
            names = sorted({name for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                            if "\x00" in name or "\x00" in value})
            return await _refuse(scope, send, [field_error(f"query.{n.replace(chr(0), '')}", MESSAGE, "string_nul")
                                        for n in names or ["?"]])
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") or scope["path"] in self.streams:
            return await self.app(scope, receive, send)

        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message]), send)  # the client went away
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.count(b"[") + body.count(b"{") > 256 and _too_deep(body):
            # The JSON parser recurses: a body nested past Python's limit would fail as a bare 400.
            return await _refuse(scope, send, [field_error("body", t("is nested too deep"), "json_invalid")])
        if b"\\u0000" in body or b"%00" in body or b"\x00" in body:
            fields = nul_fields(body)
            if fields:
                return await _refuse(scope, send, [field_error(f, MESSAGE, "string_nul") for f in fields])
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}]), send)


def _too_deep(body: bytes) -> bool:
    try:
        json.loads(body)
    except RecursionError:
        return True
    except (ValueError, UnicodeDecodeError):
        pass  # not JSON: the route answers that
    return False


def nul_fields(body: bytes) -> list[str]:
    """Where the NULs are: ``body.a.0.b`` paths in JSON, ``form.name`` in a form; [] when the bytes
    only looked like one (``\\\\u0000`` is a backslash and text) or the body is not parsed here."""
    try:
        data = json.loads(body)
    except RecursionError:
        return ["body"]
    except (ValueError, UnicodeDecodeError):
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return ["body"] if b"\x00" in body else []
        return sorted({f"form.{name.replace(chr(0), '')}" for name, value in pairs
                       if "\x00" in name or "\x00" in value})
    found: list[str] = []
    stack = [(data, "body")]
    while stack:  # iterative: a deeply nested body must not exhaust the stack here
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key.replace(chr(0), '')}"
                if "\x00" in key:
                    found.append(where)
                stack.append((item, where))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}") for i, item in enumerate(value))
    return sorted(found)


def _replay(messages):
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive


async def _refuse(scope, send, errors: list[dict]) -> None:
    headers, body = raw_problem(validation_problem(errors), scope)
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})

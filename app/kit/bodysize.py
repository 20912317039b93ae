"""Request body size limit (``APP_MAX_BODY_BYTES``) as pure ASGI middleware.

A declared ``Content-Length`` over the limit is refused at once, before a byte of the body is
read. A body without one (chunked) is counted as it streams in; at the first byte over the
limit the application is told the client went away, its answer to that is dropped, and the
client gets the same 413 instead. Either way nothing is parsed or stored.
"""

from __future__ import annotations

from app.kit.errors import PayloadTooLarge, raw_problem
from app.kit.messages import t


class BodySizeLimitMiddleware:
    """``max_bytes`` for every path but those ``larger`` names (a stream of cases), which have their own."""

    def __init__(self, app, *, max_bytes: int, larger: dict[str, int] | None = None):
        self.app, self.max_bytes, self.larger = app, max_bytes, larger or {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.larger.get(scope["path"], self.max_bytes) if self.larger else self.max_bytes
        declared, chunked = _framing(scope)
        if declared is not None and declared > limit:
            return await self._refuse(scope, send, limit)
        if not chunked:
            # A declared length within the limit is all the server reads, and a request with neither
            # header has no body (RFC 9112 §6.3): only a chunked body needs counting. Most requests
            # (every standing check) skip the two wrappers below.
            return await self.app(scope, receive, send)

        received = 0
        over = False
        started = False

        async def counting_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                return  # the application's answer to a body cut short is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope, send, limit: int) -> None:
        problem = PayloadTooLarge(t("The request body exceeds {max_bytes} bytes", max_bytes=limit))
        headers, body = raw_problem(problem, scope)
        await send({"type": "http.response.start", "status": problem.status, "headers": [
            *headers,
            # The unread rest of the body is still on the wire: this connection cannot carry another request.
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


def _framing(scope) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (None when absent or not a number) and whether the body is
    sent in chunks (``Transfer-Encoding``, which HTTP/1.1 gives precedence over a length)."""
    declared, chunked = None, False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked

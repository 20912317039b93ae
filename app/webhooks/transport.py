"""The HTTP transport of callback deliveries: to the address ``urlsafety.check`` vetted, and no other.

Apart from ``urlsafety`` because it needs httpx, which the API process does not import at start-up
(it and what it pulls in were a tenth of the start-up time); the worker's deliveries use it.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx

from app.webhooks.urlsafety import Target

_DEFAULT_PORTS = {"https": 443, "http": 80}


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once per process, not once per attempt.
    return httpx.create_ssl_context()


class PinnedTransport(httpx.BaseTransport):
    """Sends to the vetted address instead of resolving the host again. The request keeps its
    Host header (set from the URL when the request was built) and TLS uses the host name for
    SNI and certificate checks (httpcore's ``sni_hostname`` extension)."""

    def __init__(self, target: Target, inner: httpx.BaseTransport | None = None):
        self.target = target
        self.inner = inner or httpx.HTTPTransport(verify=_tls_context(), retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.rstrip(".").lower() != self.target.host:
            raise httpx.ConnectError("refused: request to a host other than the vetted one", request=request)
        # The port too: urllib vetted it, httpx connects to it; should they ever read a URL
        # differently, the request must not go to a port nobody vetted.
        if (request.url.port or _DEFAULT_PORTS.get(request.url.scheme)) != self.target.port:
            raise httpx.ConnectError("refused: request to a port other than the vetted one", request=request)
        request.url = request.url.copy_with(host=self.target.address)
        request.extensions = {**request.extensions, "sni_hostname": self.target.host}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

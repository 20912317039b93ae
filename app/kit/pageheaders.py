"""Security headers for the HTML the service serves (workbench, public notice, what-if report).

A Content-Security-Policy that admits only the page's own inline style and script, by hash (the
pages carry no third-party code and work offline), no framing, and in production HSTS: the
service is reached over TLS there, and a browser should never try plain HTTP again.
"""

from __future__ import annotations

import base64
import hashlib

from app.settings import get_settings

HSTS = "max-age=31536000; includeSubDomains"


def inline_hash(source: str) -> str:
    """The CSP source expression that admits one inline ``<script>`` or ``<style>`` body."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def page_headers(*, scripts: tuple[str, ...] = (), styles: tuple[str, ...] = (), private: bool = False) -> dict[str, str]:
    """Headers for an HTML page whose inline scripts and styles are exactly ``scripts`` and
    ``styles``; ``private`` pages (personal data, acting for the user) are never cached."""
    script_src = " ".join(["'self'", *map(inline_hash, scripts)])
    style_src = " ".join(["'self'", *map(inline_hash, styles)])
    headers = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": f"default-src 'self'; script-src {script_src}; style-src {style_src}; "
                                   "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    }
    if private:
        headers["Cache-Control"] = "no-store"
    if is_production():
        headers["Strict-Transport-Security"] = HSTS
    return headers


def is_production() -> bool:
    return get_settings().environment == "production"

"""/docs works on a network that reaches no CDN: the page and every file it names come from the
service itself, and its Content-Security-Policy admits them (app/kit/apidocs.py)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

pytestmark = pytest.mark.database_independent


def _named_files(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', html)


def test_docs_and_every_file_it_names_are_served_by_the_service(api):
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = _named_files(page.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls) and any(u.endswith(".css") for u in urls)
    for url in urls:
        absolute = urljoin("http://testserver/docs", url)
        assert urlsplit(absolute).netloc == "testserver", f"{url} is not the service's own"
        response = api.get(absolute)
        assert response.status_code == 200, url
        assert len(response.content) > 100, url
    assert "cdn" not in page.text.lower() and "https://" not in page.text


def test_the_page_runs_under_its_own_content_security_policy(api):
    page = api.get("/docs")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "default-src 'self'" in policy  # no inline code, no other host
    # Nothing inline for the policy to refuse: every script is a file, no style element or attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert "<style" not in page.text and " style=" not in page.text
    script = api.get("/docs/init.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "validatorUrl: null" in script.text  # the badge would call validator.swagger.io
    assert page.headers["X-Frame-Options"] == "DENY"


def test_the_page_shows_this_services_document(api):
    page = api.get("/docs")
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert api.get("/openapi.json").json()["openapi"].startswith("3.1")  # relabelled for Swagger UI 4 only


def test_redoc_is_gone_it_has_no_offline_copy(api):
    assert api.get("/redoc").status_code == 404

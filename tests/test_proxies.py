"""Forwarding headers are believed only from configured proxies (APP_TRUSTED_PROXIES)."""

import re
import shlex
from pathlib import Path

import yaml
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import main
from app.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_way_to_serve_leaves_forwarding_headers_to_the_app():
    serve = re.search(r"^serve:\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["api"]["command"]
    docker = (ROOT / "Dockerfile").read_text()
    assert "--no-proxy-headers" in shlex.split(serve) and "--no-proxy-headers" in compose
    assert '"--no-proxy-headers"' in docker


def test_without_trusted_proxies_x_forwarded_for_is_ignored(monkeypatch):
    monkeypatch.setattr(get_settings(), "trusted_proxies", [])
    app = main.create_app()
    assert ProxyHeadersMiddleware not in [m.cls for m in app.user_middleware]


def test_a_trusted_proxy_gives_the_client_address(monkeypatch):
    monkeypatch.setattr(get_settings(), "trusted_proxies", ["*"])
    app = main.create_app()
    [proxy] = [m for m in app.user_middleware if m.cls is ProxyHeadersMiddleware]
    assert proxy.kwargs["trusted_hosts"] == ["*"]

    @app.get("/client-address-for-test")
    def where(request: __import__("fastapi").Request):
        return {"host": request.client.host, "scheme": request.url.scheme}

    with TestClient(app) as client:
        answer = client.get("/client-address-for-test", headers={"X-Forwarded-For": "203.0.113.9",
                                                                 "X-Forwarded-Proto": "https"}).json()
    assert answer == {"host": "203.0.113.9", "scheme": "https"}

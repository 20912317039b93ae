"""Development allows a receiver on this machine without configuration; test and production do
not; and every refusal the allow-list could lift names APP_WEBHOOK_ALLOWED_HOSTS (host:port)."""

import pytest

from app.settings import get_settings
from app.webhooks import urlsafety

LOOPBACK = ["http://127.0.0.1:8765/hook", "http://localhost:9000/hook", "https://127.0.0.1:8443/hook",
            "http://[::1]:8080/hook", "http://127.0.0.2:1234/x"]


def _resolve(host, _port):
    return {"localhost": ["127.0.0.1", "::1"], "hooks.example.cn": ["10.1.2.3"]}.get(host, [host.strip("[]")])


@pytest.mark.database_independent
@pytest.mark.parametrize("url", LOOPBACK)
def test_development_takes_loopback_on_any_port(url):
    assert urlsafety.check(url, [], resolver=_resolve, loopback=True).address
    with pytest.raises(urlsafety.UnsafeUrl, match="APP_WEBHOOK_ALLOWED_HOSTS"):
        urlsafety.check(url, [], resolver=_resolve)


@pytest.mark.database_independent
def test_development_opens_loopback_only():
    with pytest.raises(urlsafety.UnsafeUrl, match="APP_WEBHOOK_ALLOWED_HOSTS"):
        urlsafety.check("https://hooks.example.cn/x", [], resolver=_resolve, loopback=True)  # private
    with pytest.raises(urlsafety.UnsafeUrl, match="APP_WEBHOOK_ALLOWED_HOSTS"):
        urlsafety.check("http://10.0.0.1:8080/x", [], resolver=_resolve, loopback=True)
    with pytest.raises(urlsafety.UnsafeUrl, match="APP_WEBHOOK_ALLOWED_HOSTS"):
        urlsafety.check("http://169.254.169.254/latest", [], resolver=_resolve, loopback=True)
    # a public name that resolves to loopback is not "localhost": still refused
    with pytest.raises(urlsafety.UnsafeUrl, match="host:port"):
        urlsafety.check("https://evil.example/x", [], resolver=lambda h, p: ["127.0.0.1"], loopback=True)


@pytest.mark.database_independent
@pytest.mark.parametrize(("url", "allowed", "only"), [
    ("http://hooks.example.cn/x", [], False),                        # plain http
    ("https://hooks.example.cn/x", [], False),                       # resolves to a private address
    ("https://hooks.example.cn:8443/x", ["hooks.example.cn"], True),  # not on a closed list
    ("http://127.0.0.1:8765/x", ["127.0.0.1:9999"], False),          # listed, but another port
])
def test_every_refusal_the_list_could_lift_names_the_setting_and_its_form(url, allowed, only):
    with pytest.raises(urlsafety.UnsafeUrl) as refused:
        urlsafety.check(url, allowed, only, resolver=_resolve)
    assert "APP_WEBHOOK_ALLOWED_HOSTS" in str(refused.value) and "host:port" in str(refused.value)
    assert "APP_WEBHOOK_ALLOWED_HOSTS" in refused.value.args[0].render("zh-CN")


def test_the_api_in_development_accepts_a_local_receiver(api, bureau, monkeypatch):
    monkeypatch.setattr(get_settings(), "environment", "development")
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [])
    created = api.post("/v1/webhook-endpoints", headers=bureau,
                       json={"url": "http://127.0.0.1:8765/hook", "event_types": ["score.recorded"]})
    assert created.status_code == 201, created.text
    local = api.post("/v1/webhook-endpoints", headers=bureau,
                     json={"url": "http://localhost:9000/hook", "event_types": ["score.recorded"]})
    assert local.status_code == 201, local.text


@pytest.mark.parametrize("environment", ["production", "test"])
def test_the_api_elsewhere_refuses_it_naming_the_setting(api, bureau, monkeypatch, environment):
    monkeypatch.setattr(get_settings(), "environment", environment)
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [])
    response = api.post("/v1/webhook-endpoints", headers=bureau,
                        json={"url": "http://127.0.0.1:8765/hook", "event_types": ["score.recorded"]})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "body.url"
    assert "APP_WEBHOOK_ALLOWED_HOSTS (host:port" in error["message"]
    assert "APP_ENVIRONMENT=development" in error["message"]
    chinese = api.post("/v1/webhook-endpoints", headers={**bureau, "Accept-Language": "zh-CN"},
                       json={"url": "http://127.0.0.1:8765/hook", "event_types": ["score.recorded"]})
    assert "列入 APP_WEBHOOK_ALLOWED_HOSTS" in chinese.json()["errors"][0]["message"]
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", ["127.0.0.1:8765"])
    allowed = api.post("/v1/webhook-endpoints", headers=bureau,
                       json={"url": "http://127.0.0.1:8765/hook", "event_types": ["score.recorded"]})
    assert allowed.status_code == 201, allowed.text

"""Managing webhook endpoints: own endpoints only, secret shown once, URLs vetted."""

import pytest
from sqlalchemy import text

from app.webhooks import urlsafety


def test_create_answers_the_secret_once_and_stores_it_sealed(api, bureau, receiver, engine):
    created = api.post("/v1/webhook-endpoints", headers=bureau, json={
        "url": receiver.url + "/hook", "event_types": ["score.recorded", "standing.changed"], "description": "旗医保局"})
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    assert body["event_types"] == ["score.recorded", "standing.changed"]
    got = api.get(f"/v1/webhook-endpoints/{body['id']}", headers=bureau).json()
    assert "secret" not in got and got["description"] == "旗医保局"
    assert [e["id"] for e in api.get("/v1/webhook-endpoints", headers=bureau).json()] == [body["id"]]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_sealed FROM webhook_endpoints")).scalar_one()
    assert body["secret"] not in stored and body["secret"][6:] not in stored


def test_a_client_sees_only_its_own_endpoints(api, make_key, subscribe):
    mine, other = make_key("bureau", "150428"), make_key("bureau", "150428")
    endpoint = subscribe(mine)
    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert api.get("/v1/webhook-endpoints", headers=other).json() == []
    assert api.get(url, headers=other).status_code == 404
    assert api.patch(url, headers=other, json={"description": "x"}).status_code == 404
    assert api.delete(url, headers=other).status_code == 404
    assert api.post(url + "/rotate-secret", headers=other).status_code == 404
    assert api.get(url + "/deliveries", headers=other).status_code == 404
    assert api.post(url + "/recover", headers=other, json={"since": "2025-01-01T00:00:00+08:00"}).status_code == 404
    assert api.get(url, headers=mine).status_code == 200


@pytest.mark.parametrize(("role", "department", "status"),
                         [("partner", "health", 201), ("checker", None, 403), ("admin", None, 403)])
def test_roles(api, make_key, receiver, role, department, status):
    headers = make_key(role, "150000", department)
    response = api.post("/v1/webhook-endpoints", headers=headers,
                        json={"url": receiver.url + "/p", "event_types": ["referral.created"]})
    assert response.status_code == status
    assert api.get("/v1/webhook-endpoints", headers=headers).status_code == (200 if status == 201 else 403)


def test_event_types_are_validated_and_named(api, bureau, make_key, receiver):
    url = receiver.url + "/hook"
    unknown = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": ["score.x"]})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["body.event_types.0"]
    empty = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": []})
    assert [e["field"] for e in empty.json()["errors"]] == ["body.event_types"]
    partner = make_key("partner", "150000", "health")
    unreachable = api.post("/v1/webhook-endpoints", headers=partner, json={"url": url, "event_types": ["score.recorded"]})
    assert unreachable.status_code == 422
    assert unreachable.json()["errors"][0]["field"] == "body.event_types"


@pytest.mark.parametrize("url", [
    "https://10.0.0.5/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://localhost/hook",          # a name resolving to 127.0.0.1
    "https://192.168.10.20:8443/hook",
    "http://hooks.example.cn/hook",    # plain http to a host not on the list
    "https://user:secret@hooks.example.cn/hook",
])
def test_unsafe_urls_are_refused_at_creation_naming_body_url(api, bureau, monkeypatch, url):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [])
    monkeypatch.setattr(urlsafety, "resolve",
                        lambda host, port: ["127.0.0.1"] if host == "localhost" else
                        [host.strip("[]")] if host[0].isdigit() or ":" in host else ["93.184.216.34"])
    response = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": ["score.recorded"]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["body.url"]
    assert url not in response.text and "secret" not in response.text  # input is never echoed


# Characters no URL may carry: a parser that drops them (urllib drops tab, CR and LF) and one that
# refuses them (httpx) would otherwise disagree about the same stored URL.
CONTROL = ["\r\n", "\r", "\n", "\t", "\x00", "\x01", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
           " ", "\u00a0", "\u2028", "\u202e", "\u3000", "\ufeff"]


@pytest.mark.parametrize("where", ["https://8.8.8.8/a{c}b", "https://8.8.8.8{c}/x", "{c}https://8.8.8.8/x",
                                   "https://8.8.8.8/x{c}", "https://8.8.8.8/x?q={c}"])
@pytest.mark.parametrize("char", CONTROL, ids=["+".join(f"U+{ord(x):04X}" for x in c) for c in CONTROL])
def test_control_characters_anywhere_are_refused(api, bureau, subscribe, char, where):
    url = where.format(c=char)
    response = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": ["score.recorded"]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["body.url"]
    endpoint = subscribe(bureau)
    patched = api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bureau, json={"url": url})
    assert patched.status_code == 422 and [e["field"] for e in patched.json()["errors"]] == ["body.url"]


@pytest.mark.parametrize(("url", "message"), [
    ("https://8.8.8.8:0/x", "port"),
    ("https://hooks.example.cn:0/x", "port"),
    ("https://hooks.example.cn:00/x", "port"),
    ("https://hooks.example.cn:65536/x", "valid"),
    ("https://hooks.example.cn:+443/x", "port"),
    ("https://hooks.example.cn:\u0664\u0664\u0663/x", "port"),  # Arabic-Indic digits 443
    ("https://user@hooks.example.cn/x", "credentials"),
    ("https://:pw@hooks.example.cn/x", "credentials"),
    ("https://@hooks.example.cn/x", "credentials"),
    ("https://user:pw@hooks.example.cn/x", "credentials"),
    # IPv6 forms that carry an IPv4 address inside: the IPv4 address decides.
    ("https://[2002:a00:1::]/x", "private"),              # 6to4 of 10.0.0.1
    ("https://[2002:7f00:1::1]/x", "private"),            # 6to4 of 127.0.0.1
    ("https://[2002:a9fe:a9fe::]/x", "private"),          # 6to4 of 169.254.169.254 (cloud metadata)
    ("https://[2002:c0a8:101::]/x", "private"),           # 6to4 of 192.168.1.1
    ("https://[64:ff9b::a00:1]/x", "private"),            # NAT64 of 10.0.0.1
    ("https://[64:ff9b::7f00:1]/x", "private"),           # NAT64 of 127.0.0.1
    ("https://[64:ff9b::a9fe:a9fe]/x", "private"),        # NAT64 of 169.254.169.254
    ("https://[64:ff9b::6440:1]/x", "private"),           # NAT64 of 100.64.0.1 (shared address space)
    ("https://[64:ff9b:1::808:808]/x", "private"),        # local-use NAT64: where the IPv4 sits is local
    ("https://[::ffff:10.0.0.1]/x", "private"),           # IPv4-mapped
    ("https://[::ffff:169.254.169.254]/x", "private"),
    ("https://[::ffff:0.0.0.0]/x", "private"),
    ("https://[::10.0.0.1]/x", "private"),                # IPv4-compatible (deprecated)
    ("https://[::8.8.8.8]/x", "private"),
    ("https://[::127.0.0.1]/x", "private"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", "private"),  # Teredo
    ("https://[2001::a00:1]/x", "private"),
])
def test_more_unsafe_urls_are_refused_naming_body_url(api, bureau, url, message):
    response = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": ["score.recorded"]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["field"] == "body.url" and message in error["message"]


@pytest.mark.parametrize("url", [
    "https://[2002:808:808::]/x",       # 6to4 of 8.8.8.8
    "https://[64:ff9b::808:808]/x",     # NAT64 of 8.8.8.8 (an IPv6-only network's way to IPv4)
    "https://[::ffff:8.8.8.8]/x",       # IPv4-mapped 8.8.8.8
    "https://8.8.8.8:8443/x",
    "https://8.8.8.8/a%0d%0ab?q=%09",   # encoded, they are just text of the path
])
def test_forms_embedding_a_public_ipv4_address_are_accepted(api, bureau, url):
    response = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": ["score.recorded"]})
    assert response.status_code == 201, response.text


def test_loopback_needs_to_be_listed(api, bureau, receiver, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", [])
    response = api.post("/v1/webhook-endpoints", headers=bureau,
                        json={"url": receiver.url.replace("http:", "https:") + "/h", "event_types": ["score.recorded"]})
    assert response.status_code == 422
    assert "private, loopback" in response.json()["errors"][0]["message"]


def test_patch_changes_only_what_is_given_and_vets_a_new_url(api, bureau, subscribe):
    endpoint = subscribe(bureau, description="a")
    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    changed = api.patch(url, headers=bureau, json={"event_types": ["standing.changed"]}).json()
    assert changed["event_types"] == ["standing.changed"] and changed["description"] == "a"
    assert changed["url"] == endpoint["url"]
    bad = api.patch(url, headers=bureau, json={"url": "https://10.1.1.1/x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.url"
    assert api.patch(url, headers=bureau, json={"url": None}).json()["errors"][0]["field"] == "body.url"
    off = api.patch(url, headers=bureau, json={"enabled": False}).json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by its owner"
    on = api.patch(url, headers=bureau, json={"enabled": True}).json()
    assert on["enabled"] is True and on["disabled_reason"] is None


def test_delete(api, bureau, subscribe):
    endpoint = subscribe(bureau)
    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert api.delete(url, headers=bureau).status_code == 204
    assert api.get(url, headers=bureau).status_code == 404
    assert api.get("/v1/webhook-endpoints", headers=bureau).json() == []


def test_rotate_secret_answers_a_new_secret_and_the_grace_period(api, bureau, subscribe):
    endpoint = subscribe(bureau)
    rotated = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=bureau).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_valid_until"] is not None


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85"], ids=["NUL", "ESC", "DEL", "NEL"])
def test_a_description_with_control_characters_is_refused_alike_on_both_databases(api, bureau, subscribe, char):
    """PostgreSQL text cannot hold NUL (it was a 500 there, a 201 on SQLite); no control character
    has a place in a one-line label, though line breaks and tabs do."""
    body = {"url": "https://8.8.8.8/x", "event_types": ["score.recorded"], "description": f"旗{char}医保局"}
    created = api.post("/v1/webhook-endpoints", headers=bureau, json=body)
    assert created.status_code == 422, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in created.json()["errors"]] == ["body.description"]
    endpoint = subscribe(bureau)
    patched = api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bureau,
                        json={"description": f"a{char}b"})
    assert patched.status_code == 422 and [e["field"] for e in patched.json()["errors"]] == ["body.description"]
    fine = api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bureau, json={"description": "一\n二\t三"})
    assert fine.status_code == 200 and fine.json()["description"] == "一\n二\t三"


@pytest.mark.parametrize("allowed", [["127.0.0.1"], ["127.0.0.1:8080"], ["localhost:5432"]])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_allowing_a_host_does_not_allow_its_other_ports(api, bureau, monkeypatch, allowed, scheme):
    """Allowing 127.0.0.1 for a receiver must not open the database on 127.0.0.1:5432."""
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", allowed)
    response = api.post("/v1/webhook-endpoints", headers=bureau,
                        json={"url": f"{scheme}://127.0.0.1:5432/x", "event_types": ["score.recorded"]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["body.url"]


def test_an_allowed_host_and_port_is_accepted_over_http(api, bureau, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", ["127.0.0.1:8080", "[::1]:9000"])
    for url in ("http://127.0.0.1:8080/x", "http://[::1]:9000/x"):
        response = api.post("/v1/webhook-endpoints", headers=bureau, json={"url": url, "event_types": ["score.recorded"]})
        assert response.status_code == 201, response.text

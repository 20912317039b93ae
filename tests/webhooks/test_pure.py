"""Signing, URL safety and delivery rules: pure functions, tables of cases."""

import base64
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.webhooks import rules, signing, transport, urlsafety

NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def test_secret_is_whsec_and_24_to_64_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(signing.key_of(secret)) == 32
    assert secret != signing.new_secret()
    assert len(signing.key_of(signing.new_secret(64))) == 64
    for bad in (23, 65):
        with pytest.raises(ValueError):
            signing.new_secret(bad)


def test_signature_verifies_with_the_standardwebhooks_library_and_fails_when_tampered():
    secret = signing.new_secret()
    body = '{"type":"score.recorded","data":{"名":"王"}}'.encode()
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([secret], "msg_1", now, body)
    assert Webhook(secret).verify(body, headers) == {"type": "score.recorded", "data": {"名": "王"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"score", b"scare"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)


def test_signature_matches_the_specifications_construction():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    sig = signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    ours = Webhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(1614265330, UTC),
                                '{"test": 2432232314}')
    assert sig == ours


def test_two_secrets_give_two_signatures_each_verifying():
    old, new = signing.new_secret(), signing.new_secret()
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([new, old], "msg_2", now, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(b"{}", headers)
    Webhook(new).verify(b"{}", headers)


def test_secret_box_round_trips_and_depends_on_the_master_secret():
    box = signing.SecretBox(("m" * 40,))
    sealed = box.seal("whsec_abc")
    assert "whsec_abc" not in sealed and box.open(sealed) == "whsec_abc"
    with pytest.raises(Exception):
        signing.SecretBox(("n" * 40,)).open(sealed)


@pytest.mark.parametrize(("url", "allowed", "problem"), [
    ("ftp://example.com/x", [], "https"),
    ("http://example.com/x", [], "https"),
    ("https://user:pw@example.com/x", [], "credentials"),
    ("https:///x", [], "no host"),
    ("https://example.com:99999/x", [], "valid"),
    ("https://example.com/x#frag", [], "fragment"),
    ("https://@example.com/x", [], "credentials"),
    ("https://example.com:0/x", [], "port"),
    ("https://example.com:0443/x", [], "port"),
    ("https://example.com/\r\nx", [], "control"),
    ("https://example.com/x\t", [], "control"),
    ("\x00https://example.com/x", [], "control"),
    ("https://example.com/\x85", [], "control"),
])
def test_url_syntax_refusals(url, allowed, problem):
    with pytest.raises(urlsafety.UnsafeUrl, match=problem):
        urlsafety.parse(url, allowed)


@pytest.mark.parametrize(("host", "addresses", "allowed", "ok"), [
    ("hooks.example.cn", ["93.184.216.34"], [], True),
    ("hooks.example.cn", ["127.0.0.1"], [], False),                  # a name resolving to loopback
    ("hooks.example.cn", ["10.1.2.3"], [], False),                   # private
    ("hooks.example.cn", ["172.16.0.1"], [], False),
    ("hooks.example.cn", ["192.168.1.1"], [], False),
    ("hooks.example.cn", ["169.254.169.254"], [], False),            # link-local (cloud metadata)
    ("hooks.example.cn", ["224.0.0.1"], [], False),                  # multicast
    ("hooks.example.cn", ["240.0.0.1"], [], False),                  # reserved
    ("hooks.example.cn", ["0.0.0.0"], [], False),
    ("hooks.example.cn", ["::1"], [], False),
    ("hooks.example.cn", ["fe80::1"], [], False),
    ("hooks.example.cn", ["::ffff:127.0.0.1"], [], False),           # IPv4-mapped loopback
    ("hooks.example.cn", ["fd00::1"], [], False),                    # unique local
    ("hooks.example.cn", ["2002:a00:1::"], [], False),               # 6to4 of 10.0.0.1
    ("hooks.example.cn", ["2002:a9fe:a9fe::1"], [], False),          # 6to4 of 169.254.169.254
    ("hooks.example.cn", ["2002:808:808::1"], [], True),             # 6to4 of 8.8.8.8
    ("hooks.example.cn", ["64:ff9b::a00:1"], [], False),             # NAT64 of 10.0.0.1
    ("hooks.example.cn", ["64:ff9b::808:808"], [], True),            # NAT64 of 8.8.8.8
    ("hooks.example.cn", ["64:ff9b:1::808:808"], [], False),         # local-use NAT64: refused outright
    ("hooks.example.cn", ["::ffff:8.8.8.8"], [], True),
    ("hooks.example.cn", ["::ffff:10.0.0.1"], [], False),
    ("hooks.example.cn", ["::10.0.0.1"], [], False),                 # IPv4-compatible: refused outright
    ("hooks.example.cn", ["::8.8.8.8"], [], False),
    ("hooks.example.cn", ["2001:0:4136:e378:8000:63bf:3fff:fdd2"], [], False),  # Teredo: refused outright
    ("hooks.example.cn", ["fec0::1"], [], False),                    # site-local (deprecated)
    ("hooks.example.cn", ["3fff::1"], [], False),                    # documentation (RFC 9637)
    ("hooks.example.cn", ["2606:4700:4700::1111"], [], True),        # an ordinary public IPv6 address
    ("hooks.example.cn", ["93.184.216.34", "10.0.0.1"], [], False),  # every address must pass
    ("hooks.example.cn", [], [], False),                             # does not resolve
    ("hooks.example.cn", ["10.1.2.3"], ["hooks.example.cn"], True),  # listed name
    ("a.hooks.example.cn", ["10.1.2.3"], ["*.hooks.example.cn"], True),
    ("hooks.example.cn", ["10.1.2.3"], ["*.hooks.example.cn"], False),
    ("evil.cn", ["10.1.2.3"], ["10.1.0.0/16"], True),                # listed network
    ("evil.cn", ["10.2.0.1"], ["10.1.0.0/16"], False),
    ("localhost", ["127.0.0.1"], ["127.0.0.1"], True),
])
def test_address_rule(host, addresses, allowed, ok):
    if ok:
        assert urlsafety.choose_address(host, addresses, allowed) == addresses[0]
    else:
        with pytest.raises(urlsafety.UnsafeUrl):
            urlsafety.choose_address(host, addresses, allowed)


@pytest.mark.parametrize(("entry", "name", "network", "port"), [
    ("hooks.example.cn", "hooks.example.cn", None, None),
    ("Hooks.Example.CN.", "hooks.example.cn", None, None),
    ("receiver.local:443", "receiver.local", None, 443),
    ("*.hooks.example.cn:8443", "*.hooks.example.cn", None, 8443),
    ("127.0.0.1", None, "127.0.0.1/32", None),
    ("127.0.0.1:8080", None, "127.0.0.1/32", 8080),
    ("10.1.0.0/16:8443", None, "10.1.0.0/16", 8443),
    ("[::1]", None, "::1/128", None),
    ("[::1]:9000", None, "::1/128", 9000),
    (" [fd00::/8]:443 ", None, "fd00::/8", 443),
])
def test_allowed_host_entries(entry, name, network, port):
    parsed = urlsafety.allowed_entry(entry)
    assert (parsed.name, str(parsed.network) if parsed.network else None, parsed.port) == (name, network, port)


@pytest.mark.parametrize(("entry", "problem"), [
    ("", "empty"),
    ("127.0.0.1:0", "port"),
    ("127.0.0.1:65536", "port"),
    ("127.0.0.1:08080", "port"),
    ("127.0.0.1:", "port"),
    ("hooks.example.cn:https", "port"),
    ("::1", "brackets"),            # ::1 or :: port 1? Written [::1] or [::1]:1, there is no doubt
    ("fe80::1:8080", "brackets"),
    ("fd00::/8", "brackets"),
    ("[::1", "brackets"),
    ("[hooks.example.cn]:443", "IPv6"),
    ("[::1]9000", "port"),
    ("a:b:c", "brackets"),
    ("https://hooks.example.cn", "host"),
    ("hooks.example.cn/x", "host"),
    ("user@hooks.example.cn", "host"),
    ("*.", "host"),
    ("a.*.cn", "host"),
    ("医保.cn", "host"),
])
def test_malformed_allowed_host_entries(entry, problem):
    with pytest.raises(ValueError, match=problem):
        urlsafety.allowed_entry(entry)


def _resolve(host, _port):
    return {"receiver.local": ["10.0.0.5"], "a.hooks.cn": ["10.0.0.6"], "evil.cn": ["10.1.2.3"],
            "v6.local": ["fd00::5"]}.get(host, [host])


@pytest.mark.parametrize(("url", "allowed", "ok"), [
    # An entry names a host and a port; allowing 127.0.0.1 allows it on the default port only.
    ("http://127.0.0.1/x", ["127.0.0.1"], True),
    ("https://127.0.0.1/x", ["127.0.0.1"], True),
    ("http://127.0.0.1:5432/x", ["127.0.0.1"], False),
    ("https://127.0.0.1:5432/x", ["127.0.0.1"], False),
    ("http://127.0.0.1:443/x", ["127.0.0.1"], False),      # http's default port is 80
    ("https://127.0.0.1:80/x", ["127.0.0.1"], False),
    ("http://127.0.0.1:8080/x", ["127.0.0.1:8080"], True),
    ("https://127.0.0.1:8080/x", ["127.0.0.1:8080"], True),
    ("http://127.0.0.1:8081/x", ["127.0.0.1:8080"], False),
    ("http://127.0.0.1/x", ["127.0.0.1:8080"], False),
    ("http://[::1]:9000/x", ["[::1]:9000"], True),
    ("http://[::1]:9001/x", ["[::1]:9000"], False),
    ("http://[::1]/x", ["[::1]"], True),
    ("http://[::1]:9000/x", ["[::1]"], False),
    ("https://receiver.local/x", ["receiver.local:443"], True),
    ("https://receiver.local:443/x", ["receiver.local"], True),
    ("https://receiver.local:8443/x", ["receiver.local"], False),
    ("https://receiver.local:8443/x", ["receiver.local:443"], False),
    ("http://receiver.local/x", ["receiver.local:443"], False),
    ("https://a.hooks.cn:8443/x", ["*.hooks.cn:8443"], True),
    ("https://a.hooks.cn/x", ["*.hooks.cn:8443"], False),
    ("https://evil.cn:8443/x", ["10.1.0.0/16:8443"], True),   # a listed network, by the resolved address
    ("https://evil.cn/x", ["10.1.0.0/16:8443"], False),
    ("https://v6.local:8443/x", ["[fd00::/8]:8443"], True),
    ("https://v6.local:8444/x", ["[fd00::/8]:8443"], False),
    ("https://127.0.0.1:5432/x", ["127.0.0.1:8080", "localhost:5432"], False),
])
def test_allowed_hosts_name_host_and_port(url, allowed, ok):
    if ok:
        assert urlsafety.check(url, allowed, resolver=_resolve).address
    else:
        with pytest.raises(urlsafety.UnsafeUrl):
            urlsafety.check(url, allowed, resolver=_resolve)


def test_only_allowed_hosts_closes_the_list_by_host_and_port():
    urlsafety.parse("https://hooks.example.cn:8443/x", ["hooks.example.cn:8443"], only_allowed=True)
    with pytest.raises(urlsafety.UnsafeUrl, match="allowed"):
        urlsafety.parse("https://hooks.example.cn:9443/x", ["hooks.example.cn:8443"], only_allowed=True)
    with pytest.raises(urlsafety.UnsafeUrl, match="allowed"):
        urlsafety.parse("https://hooks.example.cn:8443/x", ["hooks.example.cn"], only_allowed=True)


def test_only_allowed_hosts_closes_the_list():
    urlsafety.parse("https://hooks.example.cn/x", ["hooks.example.cn"], only_allowed=True)
    with pytest.raises(urlsafety.UnsafeUrl, match="allowed"):
        urlsafety.parse("https://other.example.cn/x", ["hooks.example.cn"], only_allowed=True)


def test_pinned_transport_connects_to_the_vetted_address_keeping_host_and_sni():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = urlsafety.Target("https://hooks.example.cn/cb", "hooks.example.cn", 443, "93.184.216.34")
    with httpx.Client(transport=transport.PinnedTransport(target, httpx.MockTransport(handler))) as client:
        assert client.post("https://hooks.example.cn/cb?x=1", content=b"{}").status_code == 204
        with pytest.raises(httpx.ConnectError):
            client.post("https://elsewhere.example.cn/cb")
        # the port vetted is the port connected to, whatever another parser makes of the URL
        with pytest.raises(httpx.ConnectError):
            client.post("https://hooks.example.cn:8443/cb")
    (request,) = seen
    assert request.url.host == "93.184.216.34" and request.url.path == "/cb" and request.url.query == b"x=1"
    assert request.headers["host"] == "hooks.example.cn"
    assert request.extensions["sni_hostname"] == "hooks.example.cn"


@pytest.mark.parametrize(("role", "region", "department", "event", "expected"), [
    ("bureau", "150000", None, rules.EventView("score.recorded", "150428", None), True),
    ("bureau", "150400", None, rules.EventView("score.recorded", "150428", None), True),
    ("bureau", "150428", None, rules.EventView("score.recorded", "150429", None), False),
    ("bureau", "210000", None, rules.EventView("referral.created", "150428", "health"), False),
    ("bureau", "150000", None, rules.EventView("referral.created", "150428", "health"), True),
    ("partner", "150000", "health", rules.EventView("referral.created", "150428", "health"), True),
    ("partner", "150000", "health", rules.EventView("referral.created", "150428", "market_regulation"), False),
    ("partner", "150000", "health", rules.EventView("score.recorded", "150428", None), False),
    ("partner", "150400", "health", rules.EventView("referral.created", "150500", "health"), False),
    ("checker", "150000", None, rules.EventView("score.recorded", "150428", None), False),
    ("bureau", "100000", None, rules.EventView("webhook.endpoint_disabled", "150428", None, client_id=2), False),
    ("bureau", "150428", None, rules.EventView("webhook.endpoint_disabled", "150428", None, client_id=1), True),
])
def test_scope(role, region, department, event, expected):
    assert rules.in_scope(rules.Owner(1, role, region, department), event) is expected


def test_classify():
    assert rules.classify(200, {}, NOW).success and rules.classify(299, {}, NOW).success
    for code in (None, 301, 302, 400, 404, 500):
        assert not rules.classify(code, {}, NOW).success
    assert rules.classify(410, {}, NOW).gone
    assert rules.classify(429, {"Retry-After": "120"}, NOW).retry_after == timedelta(seconds=120)
    assert rules.classify(503, {"retry-after": "Sun, 01 Jun 2025 09:00:00 GMT"}, NOW).retry_after == timedelta(hours=1)
    assert rules.classify(500, {"Retry-After": "120"}, NOW).retry_after is None  # only 429 and 503
    assert rules.parse_retry_after("soon", NOW) is None
    assert rules.parse_retry_after("999999", NOW) == rules.MAX_RETRY_AFTER
    # The receiver writes it: nothing it writes may raise.
    assert rules.parse_retry_after("9" * 5000, NOW) == rules.MAX_RETRY_AFTER
    for odd in ("\u00b2", "\u0663", "-5", "1.5", "Sun, 01 Jun 99999 09:00:00 GMT"):
        assert rules.parse_retry_after(odd, NOW) is None, odd


def test_retry_schedule_with_jitter_and_retry_after():
    rng = random.Random(7)
    expected = [5, 300, 1800, 7200, 18000, 36000, 36000]
    for failures, seconds in enumerate(expected, start=1):
        delay = (rules.next_attempt(failures, NOW, rng) - NOW).total_seconds()
        assert seconds * 0.8 <= delay <= seconds * 1.2
    assert rules.next_attempt(len(expected) + 1, NOW, rng) is None
    delays = {rules.next_attempt(1, NOW, rng) for _ in range(20)}
    assert len(delays) > 1  # jittered
    assert rules.next_attempt(1, NOW, rng, retry_after=timedelta(minutes=10)) == NOW + timedelta(minutes=10)
    assert rules.next_attempt(4, NOW, rng, retry_after=timedelta(seconds=1)) - NOW >= timedelta(hours=1.6)

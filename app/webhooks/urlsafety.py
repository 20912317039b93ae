"""Where callbacks may go (SSRF protection). Pure, except ``resolve`` (DNS).

A URL is checked when an endpoint is created or changed and again before every attempt, since
DNS answers change (rebinding). The host is resolved once per attempt; every address it resolves
to must be acceptable, and the request is then sent to that address (``transport.PinnedTransport``),
so a second lookup by the HTTP client cannot lead elsewhere.

``allowed_hosts`` entries (``APP_WEBHOOK_ALLOWED_HOSTS``) name a host and a port: an exact host
name, ``*.example.cn`` (any name below it), an IPv4 address or CIDR block, or an IPv6 address or
block in brackets, each optionally followed by ``:port``; without a port, only the scheme's
default port (443 for https, 80 for http). Addresses and blocks are matched against the resolved
addresses. A host on the list may, on that port, resolve to private, loopback or link-local
addresses and be called over plain http; any other host and port only to public addresses over
https. The port is part of the entry because an operator who allows 127.0.0.1 for a receiver
does not mean the database on 127.0.0.1:5432.

In development (``APP_ENVIRONMENT=development``, ``loopback=True`` here) ``localhost`` and the
loopback addresses (127.0.0.0/8, [::1]) are allowed on every port without configuration, so a
receiver on a laptop works at once; in test and production only the list decides. Every refusal
that the list could lift names ``APP_WEBHOOK_ALLOWED_HOSTS`` and its ``host:port`` form.

The same rules run on the URL as stored and on every address it resolves to, at creation and
before each attempt: a row stored under older rules is refused at delivery too. IPv6 forms that
carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the IPv4 address they carry, so
``[::ffff:10.0.0.1]`` or ``[2002:a9fe:a9fe::]`` (169.254.169.254) cannot slip past the IPv4 rules.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from app.kit.messages import t

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"https": 443, "http": 80}
ANY_PORT = 0  # only in the development loopback entries below; an entry written in settings has a real port


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why without repeating the URL."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    address: str  # the resolved IP the request is sent to


def parse(url: str, allowed_hosts: Sequence[str] = (), only_allowed: bool = False, *,
          loopback: bool = False) -> tuple[str, str, int]:
    """Syntactic checks: (scheme, host, port) or UnsafeUrl."""
    if any(_unprintable(c) for c in url):
        # urllib silently drops tab, CR and LF and strips leading controls and spaces, httpx
        # refuses them: the URL we vet and the URL we send must be the same string.
        raise UnsafeUrl(t("must not contain control characters or spaces (percent-encode them)"))
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeUrl(t("not a valid URL")) from None
    if not _port_well_formed(parts.netloc):
        # Some versions of urllib read ":+443" or Arabic-Indic digits as a port; other parsers
        # do not, and ":0443" invites the same disagreement.
        raise UnsafeUrl(t("port must be a number from 1 to 65535 in ASCII digits"))
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrl(t("not a valid URL")) from None
    if port == 0:
        raise UnsafeUrl(t("port must be a number from 1 to 65535, not 0"))
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl(t("must be an https:// URL"))
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeUrl(t("has no host"))
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(t("must not carry credentials"))
    if parts.fragment:
        raise UnsafeUrl(t("must not have a fragment"))
    port = port or DEFAULT_PORTS[parts.scheme]
    listed = host_listed(host, parts.scheme, port, allowed_hosts, loopback=loopback)
    if parts.scheme == "http" and not listed:
        # Plain http only to hosts an operator listed (an internal network, tests on loopback).
        raise UnsafeUrl(t("must be an https:// URL: plain http only to a host and port listed in "
                          "APP_WEBHOOK_ALLOWED_HOSTS (host:port, e.g. receiver.local:8080){hint}",
                          hint=_loopback_hint(host, loopback)))
    if only_allowed and not listed:
        raise UnsafeUrl(t("host and port are not allowed: APP_WEBHOOK_ONLY_ALLOWED_HOSTS is on and they are not "
                          "listed in APP_WEBHOOK_ALLOWED_HOSTS (host:port, e.g. receiver.local:8443)"))
    return parts.scheme, host, port


def _unprintable(char: str) -> bool:
    # Unicode categories C* (C0 and C1 controls, DEL, format characters such as U+202E and
    # U+FEFF, unassigned) and Z* (spaces, U+2028 line and U+2029 paragraph separators).
    return unicodedata.category(char)[0] in "CZ"


def _port_well_formed(netloc: str) -> bool:
    hostport = netloc.rpartition("@")[2]
    rest = hostport.partition("]")[2] if hostport.startswith("[") else hostport
    if ":" not in rest:
        return True
    text = rest.partition(":")[2]
    return text == "" or (text.isascii() and text.isdigit() and not text.startswith("0"))


@dataclass(frozen=True)
class Allowed:
    """One allow-list entry: a name (``*.`` for the names below it) or a network, and a port."""

    name: str | None
    network: Network | None
    port: int | None  # None: the scheme's default port only

    def port_matches(self, scheme: str, port: int) -> bool:
        if self.port == ANY_PORT:
            return True
        return port == (self.port if self.port is not None else DEFAULT_PORTS[scheme])

    def name_matches(self, host: str) -> bool:
        if self.name is None:
            return False
        if self.name.startswith("*."):
            return host.endswith(self.name[1:]) and host != self.name[2:]
        return host == self.name


_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_NAME = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*")


def allowed_entry(text: str) -> Allowed:
    """Parse one entry, ValueError saying what is wrong. An IPv6 address always goes in brackets:
    ``fe80::1:8080`` could be an address or an address and a port, and a guess would be a hole."""
    entry = text.strip().lower()
    if not entry:
        raise ValueError("an empty entry")
    if entry.startswith("["):
        inside, closed, rest = entry[1:].partition("]")
        if not closed:
            raise ValueError("an IPv6 address goes in brackets: [::1] or [::1]:9000")
        try:
            network = ipaddress.ip_network(inside, strict=False)
        except ValueError:
            raise ValueError("brackets hold an IPv6 address or block, as in [::1]:9000") from None
        if network.version != 6:
            raise ValueError("brackets hold an IPv6 address or block, as in [::1]:9000")
        if rest and not rest.startswith(":"):
            raise ValueError("after ] comes :port, as in [::1]:9000")
        return Allowed(None, network, _entry_port(rest[1:]) if rest else None)
    if "://" in entry:
        raise ValueError("write host or host:port, not a URL")
    if entry.count(":") > 1:
        raise ValueError("an IPv6 address goes in brackets: [::1] or [::1]:9000")
    host, colon, port_text = entry.partition(":")
    port = _entry_port(port_text) if colon else None
    try:
        return Allowed(None, ipaddress.IPv4Network(host, strict=False), port)
    except ValueError:
        pass
    host = host.rstrip(".")
    if not _NAME.fullmatch(host) or host.replace(".", "").isdigit():
        raise ValueError("the host must be a name, *.name, an IPv4 address or block, or [IPv6] (ASCII, "
                         "xn-- for other scripts), optionally with :port")
    return Allowed(host, None, port)


def _entry_port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and not text.startswith("0") and int(text) <= 65535):
        raise ValueError("the port must be a number from 1 to 65535")
    return int(text)


# Development only: a receiver on this machine, on any port.
DEVELOPMENT_LOOPBACK = (
    Allowed("localhost", None, ANY_PORT),
    Allowed(None, ipaddress.ip_network("127.0.0.0/8"), ANY_PORT),
    Allowed(None, ipaddress.ip_network("::1/128"), ANY_PORT),
)


def _is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _loopback_hint(host: str, loopback: bool):
    if loopback or not _is_loopback_host(host):
        return ""
    return t("; loopback (127.0.0.1, localhost) on any port is allowed only when APP_ENVIRONMENT=development")


@lru_cache(maxsize=8)
def _entries(allowed_hosts: tuple[str, ...], loopback: bool = False) -> tuple[Allowed, ...]:
    parsed = list(DEVELOPMENT_LOOPBACK) if loopback else []
    for text in allowed_hosts:
        try:
            parsed.append(allowed_entry(text))
        except ValueError:
            continue  # refused at start-up (app/settings.py); never read as something wider
    return tuple(parsed)


def host_listed(host: str, scheme: str, port: int, allowed_hosts: Sequence[str], *, loopback: bool = False) -> bool:
    """The URL's host, by name or as an IP literal inside a listed network, is listed with its port."""
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    return any(
        entry.port_matches(scheme, port)
        and (entry.name_matches(host) or (literal is not None and entry.network is not None
                                          and literal in entry.network))
        for entry in _entries(tuple(allowed_hosts), loopback)
    )


def _networks(allowed_hosts: Sequence[str], scheme: str, port: int) -> list[Network]:
    # Not the development loopback entries: they allow a URL that names localhost or a loopback
    # address, never a name that merely resolves to one.
    return [entry.network for entry in _entries(tuple(allowed_hosts))
            if entry.network is not None and entry.port_matches(scheme, port)]


# IPv6 ranges whose addresses carry an IPv4 address, and the bit (from the left) it starts at.
_CARRY_IPV4 = (
    (ipaddress.ip_network("::ffff:0:0/96"), 96),  # IPv4-mapped
    (ipaddress.ip_network("64:ff9b::/96"), 96),   # NAT64, the well-known prefix (RFC 6052)
    (ipaddress.ip_network("2002::/16"), 16),      # 6to4 (RFC 3056): bits 16 to 48
)
# IPv6 ranges refused whatever they carry.
_NEVER_PUBLIC = (
    # Teredo (RFC 4380): the IPv4 inside is the client's, obfuscated; the server is a relay's.
    # Nothing a webhook should be sent to.
    ipaddress.ip_network("2001::/32"),
    # Local-use NAT64 (RFC 8215): the prefix length, so where the IPv4 address sits, is a local
    # choice we cannot know.
    ipaddress.ip_network("64:ff9b:1::/48"),
    # IPv4-compatible (deprecated by RFC 4291), with :: and ::1.
    ipaddress.ip_network("::/96"),
    # Ranges the standard library of this Python calls global: site-local (deprecated by RFC 3879,
    # still local where it is used) and the documentation block of RFC 9637.
    ipaddress.ip_network("fec0::/10"),
    ipaddress.ip_network("3fff::/20"),
)


def carried_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv6Address):
        for network, start in _CARRY_IPV4:
            if address in network:
                return ipaddress.IPv4Address((int(address) >> (96 - start)) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        inner = carried_ipv4(address)
        if inner is not None:
            # Judged by what it leads to. (The standard library alone calls 2002::/16 global
            # and 64:ff9b::/96 reserved, whatever they carry.)
            address = inner
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )


def choose_address(host: str, addresses: Sequence[str], allowed_hosts: Sequence[str] = (), *,
                   scheme: str = "https", port: int | None = None, loopback: bool = False) -> str:
    """The address to connect to: the first one, once all of them are acceptable for this port."""
    if not addresses:
        raise UnsafeUrl(t("host does not resolve"))
    port = port or DEFAULT_PORTS[scheme]
    nets = _networks(allowed_hosts, scheme, port)
    listed = host_listed(host, scheme, port, allowed_hosts, loopback=loopback)
    for text in addresses:
        address = ipaddress.ip_address(text)
        # A listed network matches the address itself, not an IPv4 address it carries: a 6to4 or
        # NAT64 address leads to a relay or gateway, not to the listed host.
        if listed or is_public(address) or any(address in net for net in nets):
            continue
        raise UnsafeUrl(t("host resolves to a private, loopback, link-local or reserved address: to allow it, "
                          "list it in APP_WEBHOOK_ALLOWED_HOSTS as host:port (e.g. 10.1.2.3:8080){hint}",
                          hint=_loopback_hint(str(address), loopback)))
    return addresses[0]


def resolve(host: str, port: int) -> list[str]:
    """Every address of ``host`` (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):  # gaierror is an OSError; ValueError: a NUL in the name
        return []
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = str(sockaddr[0]).split("%", 1)[0]
        if ip not in seen:
            seen.append(ip)
    return seen


def check(
    url: str,
    allowed_hosts: Sequence[str] = (),
    only_allowed: bool = False,
    resolver: Callable[[str, int], list[str]] | None = None,
    *,
    loopback: bool = False,
) -> Target:
    """Parse, resolve once and vet the URL; the Target pins the address to use. ``loopback``:
    development, where localhost and the loopback addresses are allowed on every port."""
    scheme, host, port = parse(url, allowed_hosts, only_allowed, loopback=loopback)
    addresses = (resolver or resolve)(host, port)
    address = choose_address(host, addresses, allowed_hosts, scheme=scheme, port=port, loopback=loopback)
    return Target(url=url, host=host, port=port, address=address)

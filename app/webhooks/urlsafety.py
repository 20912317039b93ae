"""Where callbacks may go (SSRF protection). Pure, except ``resolve`` (DNS).

A URL is checked when an endpoint is created or changed and again before every attempt, since
DNS answers change (rebinding). The host is resolved once per attempt; every address it resolves
to must be acceptable, and the request is then sent to that address (``transport.PinnedTransport``),
so a second lookup by the HTTP client cannot lead elsewhere.

``allowed_hosts`` entries: an exact host name, ``*.example.cn`` (any name below it), an IP
address or a CIDR block (matched against the resolved addresses). A host on the list may resolve
to private, loopback or link-local addresses; any other host only to public ones.

The same rules run on the URL as stored and on every address it resolves to, at creation and
before each attempt: a row stored under older rules is refused at delivery too. IPv6 forms that
carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the IPv4 address they carry, so
``[::ffff:10.0.0.1]`` or ``[2002:a9fe:a9fe::]`` (169.254.169.254) cannot slip past the IPv4 rules.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why without repeating the URL."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    address: str  # the resolved IP the request is sent to


def parse(url: str, allowed_hosts: Sequence[str] = (), only_allowed: bool = False) -> tuple[str, str, int]:
    """Syntactic checks: (scheme, host, port) or UnsafeUrl."""
    if any(_unprintable(c) for c in url):
        # urllib silently drops tab, CR and LF and strips leading controls and spaces, httpx
        # refuses them: the URL we vet and the URL we send must be the same string.
        raise UnsafeUrl("must not contain control characters or spaces (percent-encode them)")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
    if not _port_well_formed(parts.netloc):
        # Some versions of urllib read ":+443" or Arabic-Indic digits as a port; other parsers
        # do not, and ":0443" invites the same disagreement.
        raise UnsafeUrl("port must be a number from 1 to 65535 in ASCII digits")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
    if port == 0:
        raise UnsafeUrl("port must be a number from 1 to 65535, not 0")
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("must be an https:// URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeUrl("has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry credentials")
    if parts.fragment:
        raise UnsafeUrl("must not have a fragment")
    listed = name_listed(host, allowed_hosts)
    if parts.scheme == "http" and not listed:
        # Plain http only to hosts an operator listed (an internal network, tests on loopback).
        raise UnsafeUrl("must be an https:// URL (http only for allowed hosts)")
    if only_allowed and not (listed or _literal_listed(host, allowed_hosts)):
        raise UnsafeUrl("host is not among the allowed webhook hosts")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


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


def name_listed(host: str, allowed_hosts: Sequence[str]) -> bool:
    for entry in allowed_hosts:
        entry = entry.strip().rstrip(".").lower()
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def _networks(allowed_hosts: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for entry in allowed_hosts:
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue  # a host name
    return nets


def _literal_listed(host: str, allowed_hosts: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in _networks(allowed_hosts))


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


def choose_address(host: str, addresses: Sequence[str], allowed_hosts: Sequence[str] = ()) -> str:
    """The address to connect to: the first one, once all of them are acceptable."""
    if not addresses:
        raise UnsafeUrl("host does not resolve")
    nets = _networks(allowed_hosts)
    listed = name_listed(host, allowed_hosts)
    for text in addresses:
        address = ipaddress.ip_address(text)
        # A listed network matches the address itself, not an IPv4 address it carries: a 6to4 or
        # NAT64 address leads to a relay or gateway, not to the listed host.
        if listed or is_public(address) or any(address in net for net in nets):
            continue
        raise UnsafeUrl("host resolves to a private, loopback, link-local or reserved address")
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
) -> Target:
    """Parse, resolve once and vet the URL; the Target pins the address to use."""
    _scheme, host, port = parse(url, allowed_hosts, only_allowed)
    addresses = (resolver or resolve)(host, port)
    return Target(url=url, host=host, port=port, address=choose_address(host, addresses, allowed_hosts))

"""Where callbacks may go (SSRF protection). Pure, except ``resolve`` (DNS).

A URL is checked when an endpoint is created or changed and again before every attempt, since
DNS answers change (rebinding). The host is resolved once per attempt; every address it resolves
to must be acceptable, and the request is then sent to that address (``transport.PinnedTransport``),
so a second lookup by the HTTP client cannot lead elsewhere.

``allowed_hosts`` entries: an exact host name, ``*.example.cn`` (any name below it), an IP
address or a CIDR block (matched against the resolved addresses). A host on the list may resolve
to private, loopback or link-local addresses; any other host only to public ones.
"""

from __future__ import annotations

import ipaddress
import socket
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
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
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


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
        if listed or is_public(address) or any(address in net for net in nets):
            continue
        raise UnsafeUrl("host resolves to a private, loopback, link-local or reserved address")
    return addresses[0]


def resolve(host: str, port: int) -> list[str]:
    """Every address of ``host`` (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
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

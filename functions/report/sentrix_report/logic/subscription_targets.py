"""Where a subscription may deliver: a plain e-mail address, or an https URL that reaches the public internet.

A webhook URL is the caller's choice of where *our* function sends a POST, so it is checked as a server-side
request forgery vector: https only, no credentials in the URL, and every address its host resolves to must be
public (`ipaddress.is_global`: no private, loopback, link-local — 169.254.169.254 —, shared, multicast or
reserved range; an IPv4-mapped IPv6 address is judged by its IPv4 address). The check runs when the
subscription is made and again before every delivery (DNS may change in between), and the delivery then
connects to the address that passed (`checked_address`), not to a second lookup.

The one exception: plain http to a loopback address, for a receiver on the same machine, when the deployment
allows it (tests, and the local stack's SENTRIX_WEBHOOK_LOOPBACK switch) and never in production.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sentrix.config import Environment, get_settings
from sentrix.domain.emails import normalise_email
from sentrix.errors import ValidationFailed

MAX_URL_LENGTH = 2048
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

Resolver = Callable[[str, int], list[str]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def refuse(reason: str, **values: object) -> ValidationFailed:
    """A 422 naming the field (`target`) and the reason, with the catalogue's words."""
    return ValidationFailed(
        f"target refused: {reason}",
        details={"field": "target", "reason": reason},
        key=f"subscription.refusal.{reason}",
        **values,
    )


def loopback_allowed(switch: bool) -> bool:
    """Plain-http loopback webhooks: tests (ENVIRONMENT=test) and the local stack's switch; never production."""
    settings = get_settings()
    if settings.is_production:
        return False
    return settings.environment is Environment.TEST or switch


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as text; [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def check_email(value: str) -> str:
    try:
        return normalise_email(value)
    except ValueError:
        raise refuse("bad_email") from None


@dataclass(frozen=True)
class WebhookUrl:
    url: str
    scheme: str
    host: str
    port: int


def parse_webhook_url(value: str, *, allow_loopback: bool) -> WebhookUrl:
    """The URL's parts, or a 422: not an absolute http(s) URL, credentials in it, or http to a non-loopback host."""
    text = value.strip()
    if len(text) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise refuse("bad_url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise refuse("bad_url") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in ("http", "https") or not host:
        raise refuse("bad_url")
    if parts.username is not None or parts.password is not None:
        raise refuse("credentials")
    if scheme == "http" and not (allow_loopback and _names_loopback(host)):
        raise refuse("not_https")
    return WebhookUrl(text, scheme, host, port or (443 if scheme == "https" else 80))


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _names_loopback(host: str) -> bool:
    literal = _literal(host)
    return host in LOOPBACK_NAMES if literal is None else _effective(literal).is_loopback


def _effective(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def permitted(address: IpAddress, *, allow_loopback: bool) -> bool:
    """Whether a delivery may connect to `address`: public, or loopback where the deployment allows it."""
    effective = _effective(address)
    # is_global alone lets multicast through (224.0.0.0/4 is in no "private" table).
    public = effective.is_global and not effective.is_multicast
    return public or (allow_loopback and effective.is_loopback)


def checked_address(url: WebhookUrl, *, allow_loopback: bool, resolve: Resolver = system_resolver) -> str:
    """The address to connect to: the first the host resolves to, once *every* address passed (a name with one
    private address among public ones is refused: the client could pick either). 422 otherwise."""
    literal = _literal(url.host)
    addresses = [url.host] if literal is not None else resolve(url.host, url.port)
    if not addresses:
        raise refuse("unresolvable")
    parsed = [_literal(a) for a in addresses]
    if any(a is None or not permitted(a, allow_loopback=allow_loopback) for a in parsed):
        raise refuse("private_address")
    return addresses[0]


def check_webhook_url(value: str, *, allow_loopback: bool, resolve: Resolver = system_resolver) -> str:
    """The URL as given (trimmed), once it passed every rule above."""
    url = parse_webhook_url(value, allow_loopback=allow_loopback)
    checked_address(url, allow_loopback=allow_loopback, resolve=resolve)
    return url.url

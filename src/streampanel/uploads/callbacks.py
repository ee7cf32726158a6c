"""Callbacks: the final record POSTed as JSON, signed so the receiver can verify it.

Headers:
  ``X-Streampanel-Event-Id``   stable for the job's final event (retries repeat it; dedupe on it)
  ``X-Streampanel-Timestamp``  unix seconds of this attempt
  ``X-Streampanel-Signature``  ``v1=`` + hex HMAC-SHA256 over ``timestamp + "." + body``,
                               keyed by the secret of the API key named in
  ``X-Streampanel-Key``        the API key that queued the upload (or, when that key was
                               revoked since, the account's newest active key)

Only http(s) URLs are called.  Unless ``Settings.callback_allow_private`` is set, the host
is resolved once, when the request is made, and refused if any address it resolves to is
not public: loopback, private, link-local, shared (CGNAT), multicast, reserved or
unspecified — or an IPv6 address that carries such an IPv4 address inside it (IPv4-mapped
``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, IPv4-translated, NAT64 ``64:ff9b::/96``,
6to4 ``2002::/16``) — and local-use NAT64 (``64:ff9b:1::/48``) and Teredo (``2001::/32``)
addresses are refused outright.  The connection then goes to an address of that one
resolution (the first that accepts it): the URL's host is sent in ``Host`` and, for https,
is the TLS server name the certificate is verified against, but it is never looked up a
second time — a name answering one address to the check and another to the connection
(DNS rebinding) gets nowhere.  Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "X-Streampanel-Signature"
TIMESTAMP_HEADER = "X-Streampanel-Timestamp"
EVENT_HEADER = "X-Streampanel-Event-Id"
KEY_HEADER = "X-Streampanel-Key"


@dataclass(frozen=True)
class Delivery:
    outcome: Literal["delivered", "retry", "refused"]
    http_status: int | None
    message: str


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return "v1=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, tolerance: float = 300) -> bool:
    """What a receiver does (used by the tests; receivers in Python may import it)."""
    # ASCII digits of an int64 at most: str.isdigit() also accepts '²', which int() refuses.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 18):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)


class Refused(Exception):
    pass


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address in their last 32 bits.
_IPV4_IN_LOW_BITS = (
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, still parsed)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, the well-known prefix
)
# Refused whatever they carry: translators local to some network (the IPv4 inside is
# theirs to place), and Teredo tunnels (the IPv4 inside is obfuscated and a relay's).
_REFUSED_PREFIXES = {
    ipaddress.IPv6Network("64:ff9b:1::/48"): "a local-use NAT64 address",
    ipaddress.IPv6Network("2001::/32"): "a Teredo address",
}


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address maps to or carries, if it is of such a form."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address) -> str | None:
    """Why a callback may not connect to ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        for prefix, what in _REFUSED_PREFIXES.items():
            if address in prefix:
                return what
        inner = embedded_ipv4(address)
        if inner is not None and not inner.is_global:
            return f"an address carrying {inner}"
    if not address.is_global:
        return "not a global address"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, in the resolver's order (no duplicates).

    This is the only look-up a delivery makes: the addresses checked are the addresses
    connected to.
    """
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    found: list[Address] = []
    for info in infos:
        # A scope (fe80::1%eth0) is dropped: link-local is refused anyway.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Destination:
    """A callback URL and the addresses its host resolved to when it was checked."""

    url: httpx.URL
    addresses: list[Address]


def check_destination(url: str, allow_private: bool) -> Destination:
    """Resolve the URL's host once and check every address; ``Refused`` if one may not be
    called (any address: the connection could otherwise go to whichever is refused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"callback URL must be http(s): {url}")
    try:
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise Refused(f"callback URL is not valid: {exc}") from exc
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        raise Refused(f"callback host {host} does not resolve: {exc}") from exc
    if not addresses:
        raise Refused(f"callback host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise Refused(
                    f"callback host {host} resolves to a non-public address ({address}: "
                    f"{reason}); set callback_allow_private to allow it"
                )
    return Destination(target, addresses)


def _post(
    destination: Destination,
    address: Address,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> httpx.Response:
    """POST to ``address`` as if to the URL's host: the host name is the ``Host`` header
    and the TLS server name (SNI, and what the certificate must name)."""
    url = destination.url
    # No redirects: a redirect could lead to an address the check would refuse.
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        return client.post(
            url.copy_with(host=str(address)),
            content=body,
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": url.raw_host.decode("ascii")},
        )


def deliver(
    url: str,
    body: bytes,
    *,
    secret: str,
    api_key: str,
    event_id: str,
    allow_private: bool,
    timeout: float,
) -> Delivery:
    try:
        destination = check_destination(url, allow_private)
    except Refused as exc:
        return Delivery("refused", None, str(exc))
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "streampanel-callback/1",
        EVENT_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        KEY_HEADER: api_key,
    }
    response: httpx.Response | None = None
    error: httpx.HTTPError | None = None
    for address in destination.addresses:
        try:
            response = _post(destination, address, body, headers, timeout)
            break
        except httpx.ConnectError as exc:
            error = exc  # nothing was sent: the next checked address may answer
        except httpx.HTTPError as exc:
            error = exc
            break
    if response is None:
        return Delivery("retry", None, f"{type(error).__name__}: {error}")
    if 200 <= response.status_code < 300:
        return Delivery("delivered", response.status_code, "Delivered")
    return Delivery("retry", response.status_code, f"Receiver answered HTTP {response.status_code}")

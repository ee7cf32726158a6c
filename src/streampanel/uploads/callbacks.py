"""Callbacks: the final record POSTed as JSON, signed so the receiver can verify it.

Headers:
  ``X-Streampanel-Event-Id``   stable for the job's final event (retries repeat it; dedupe on it)
  ``X-Streampanel-Timestamp``  unix seconds of this attempt
  ``X-Streampanel-Signature``  ``v1=`` + hex HMAC-SHA256 over ``timestamp + "." + body``,
                               keyed by the secret of the API key named in
  ``X-Streampanel-Key``        the API key that queued the upload (or, when that key was
                               revoked since, the account's newest active key)

Only http(s) URLs are called, and never a loopback, private, link-local or otherwise
non-global address (checked when the request is made, on every address the name resolves
to) unless ``Settings.callback_allow_private`` is set.
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
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)


class Refused(Exception):
    pass


def check_destination(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"callback URL must be http(s): {url}")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise Refused(f"callback host {parts.hostname} does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global:
            raise Refused(
                f"callback host {parts.hostname} resolves to a non-public address ({address}); "
                "set callback_allow_private to allow it"
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
        check_destination(url, allow_private)
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
    try:
        # No redirects: a redirect could lead to an address the check above would refuse.
        response = httpx.post(
            url, content=body, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        return Delivery("retry", None, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status_code < 300:
        return Delivery("delivered", response.status_code, "Delivered")
    return Delivery("retry", response.status_code, f"Receiver answered HTTP {response.status_code}")

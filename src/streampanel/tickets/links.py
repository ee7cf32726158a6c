"""The links a started playback carries instead of its ticket.

A **session** (``s``) names the ticket, when the session ends and when it began, signed with
HMAC-SHA256 over those and the viewer's address: the playlists of one playback carry it, and
it is worth nothing from another address.  A **segment link** (``e`` and ``t``) is what
nginx's ``secure_link`` module checks by itself, without asking streampanel: ``t`` is
base64url(MD5("<e> <app>/<video> <address> <secret>")) exactly as the shipped configuration's
``secure_link_md5`` expression computes it, so segment requests never reach the decision
route.  Both secrets are derived from the master key (``SecretBox.derive_key``), so every
process of a deployment issues links the others accept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import NamedTuple

SESSION_PURPOSE = "streampanel ticket sessions"
LINK_PURPOSE = "streampanel ticket segment links"


# <ticket id>.<expires>.<started>.<16 bytes of HMAC, base64url>
_SESSION = re.compile(r"(([0-9]{1,10})\.([0-9]{1,12})\.([0-9]{1,12}))\.([A-Za-z0-9_-]{22})")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Session(NamedTuple):
    ticket_id: int
    expires: int
    started: int


class SessionSigner:
    def __init__(self, key: bytes):
        self._key = key

    def _signature(self, body: str, address: str) -> str:
        mac = hmac.digest(self._key, f"{body}.{address}".encode(), "sha256")
        return _b64(mac[:16])

    def issue(self, ticket_id: int, expires: int, started: int, address: str) -> str:
        body = f"{ticket_id}.{expires}.{started}"
        return f"{body}.{self._signature(body, address)}"

    def verify(self, token: str, address: str) -> Session | None:
        """The session ``token`` names if it was issued for ``address``, else None (its
        expiry is the caller's to check)."""
        form = _SESSION.fullmatch(token)
        if form is None:
            return None
        body, signature = form[1], form[5]
        if not hmac.compare_digest(signature, self._signature(body, address)):
            return None
        return Session(int(form[2]), int(form[3]), int(form[4]))


def segment_token(secret: str, expires: int, app: str, video: str, address: str) -> str:
    """nginx ``secure_link_md5 "$secure_link_expires $sevu_app/$sevu_video $remote_addr
    <secret>"``, base64url without padding."""
    text = f"{expires} {app}/{video} {address} {secret}"
    return _b64(hashlib.md5(text.encode(), usedforsecurity=False).digest())

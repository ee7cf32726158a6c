"""Signing in to the panel: the account's API credentials once, then a session cookie.

A person signs in with a form posting ``cdn``, ``api_key`` and ``secret`` (never in a URL);
they are checked like an API request's key (active key, of that cdn, the secret compared in
constant time).  The session cookie is sealed with the master key's secret box (Fernet:
encrypted and authenticated, so it can be neither read nor forged), HttpOnly and
SameSite=Strict.  It names the key and carries a fingerprint of its secret and an expiry:
every panel call looks the key up again, so revoking the key, or changing its secret, ends
the session at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection

from streampanel.secretbox import SecretBox
from streampanel.store import accounts
from streampanel.store.accounts import ApiKey

COOKIE = "streampanel_session"
# Double-submit token of the sign-in form: a sign-in cannot be forced from another site.
LOGIN_COOKIE = "streampanel_login"


@dataclass(frozen=True)
class Session:
    api_key: str
    cdn: int
    expires: int
    fingerprint: str


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(b"streampanel panel session\0" + secret.encode()).hexdigest()[:32]


def check_credentials(
    conn: Connection, box: SecretBox, cdn: int, api_key: str, secret: str
) -> ApiKey | None:
    """The key when the three match an active key of that account, else None (one answer
    for every reason, as the API's 401)."""
    key = accounts.find_active_key(conn, box, api_key)
    if key is None or key.account_id != cdn:
        return None
    if not hmac.compare_digest(key.secret.encode(), secret.encode()):
        return None
    return key


def issue(box: SecretBox, key: ApiKey, now: float, lifetime: int) -> str:
    payload = {
        "k": key.api_key,
        "c": key.account_id,
        "e": int(now) + lifetime,
        "f": _fingerprint(key.secret),
    }
    return box.seal(json.dumps(payload, separators=(",", ":")))


def read(box: SecretBox, token: str, now: float) -> Session | None:
    if not token or len(token) > 4096:
        return None
    try:
        payload = json.loads(box.open(token))
        session = Session(
            str(payload["k"]), int(payload["c"]), int(payload["e"]), str(payload["f"])
        )
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    return session if session.expires > now else None


def session_key(session: Session, key: ApiKey | None) -> ApiKey | None:
    """The key a session stands for, given the active key it names (None when revoked):
    while it is that account's and has the secret the session was signed in with."""
    if key is None or key.account_id != session.cdn:
        return None
    if not hmac.compare_digest(_fingerprint(key.secret), session.fingerprint):
        return None
    return key


def new_login_token() -> str:
    return secrets.token_urlsafe(24)

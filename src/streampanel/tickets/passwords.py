"""Publisher passwords, stored as scrypt hashes and never kept or returned in clear.

The stored form is ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be
raised later without invalidating what is stored.  Verifying costs ~50 ms and 16 MiB on
purpose: publishing starts rarely, guessing should be slow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_LOG2_N, _R, _P = 14, 8, 1
_LENGTH = 32
# n * r * 128 bytes, with headroom: OpenSSL's default limit (32 MiB) is just too small.
_MAX_MEMORY = 64 * 1024 * 1024


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=_LENGTH
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, _LOG2_N, _R, _P)
    encode = base64.b64encode
    return f"scrypt${_LOG2_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not (10 <= int(log2_n) <= 20):
            return False
        derived = _derive(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
        return hmac.compare_digest(derived, base64.b64decode(digest))
    except ValueError:
        return False

"""Secrets at rest: API secrets, S3 keys and OAuth refresh tokens are stored encrypted.

The master key comes from ``STREAMPANEL_MASTER_KEY`` or from a 0600 key file in the data
directory, created on first run.  Fernet gives authenticated encryption, so a tampered
ciphertext fails loudly instead of decrypting to garbage.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from streampanel.settings import Settings


class SecretBox:
    def __init__(self, master_key: bytes):
        self._fernet = Fernet(master_key)
        self._master_key = master_key

    def derive_key(self, purpose: str) -> bytes:
        """A key for ``purpose`` (HMAC-SHA256 of it under the master key): the same in every
        process holding the master key, unrelated to it and to other purposes' keys."""
        return hmac.new(self._master_key, purpose.encode(), hashlib.sha256).digest()

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this master key") from exc


def _read_or_create_key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not both write a key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def load_secret_box(settings: Settings) -> SecretBox:
    if settings.master_key is not None:
        return SecretBox(settings.master_key.get_secret_value().encode("ascii"))
    return SecretBox(_read_or_create_key_file(settings.master_key_file))

"""Secrets at rest: API secrets, S3 keys and OAuth refresh tokens are stored encrypted.

The master key comes from ``STREAMPANEL_MASTER_KEY``, from the file named by
``STREAMPANEL_MASTER_KEY_FILE``, or from a 0600 ``master.key`` in the data directory, which is
created on first run only for a SQLite store (one machine, nothing to share).  Every process on
a PostgreSQL store must hold the same key, so none invents one: a missing key is an error
naming the command that makes one.  Fernet gives authenticated encryption, so a tampered
ciphertext (or one sealed with another key) fails loudly instead of decrypting to garbage.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from streampanel.settings import Settings

log = logging.getLogger("streampanel.secretbox")

# What the key check value seals: any process opening it holds the key that sealed it.
KEY_CHECK_TEXT = "streampanel master key check"


class MasterKeyMissing(ValueError):
    """No master key configured where one may not be invented."""


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

    def seal_check_value(self) -> str:
        return self.seal(KEY_CHECK_TEXT)

    def opens_check_value(self, sealed: str) -> bool:
        """Whether ``sealed`` was sealed by ``seal_check_value`` under this very key."""
        try:
            return self.open(sealed) == KEY_CHECK_TEXT
        except ValueError:
            return False


def generate_master_key() -> str:
    return Fernet.generate_key().decode("ascii")


def write_key_file(path: Path, key: str) -> None:
    """Write ``key`` to a new 0600 file; an existing file is never replaced (FileExistsError).

    O_EXCL also settles two processes creating the embedded key at once: one writes, the
    other reads what it wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "master key file %s is readable by other users (mode %o): chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )
    return path.read_bytes().strip()


def _read_or_create_key_file(path: Path) -> bytes:
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            write_key_file(path, generate_master_key())
    return _read_key_file(path)


def load_secret_box(settings: Settings) -> SecretBox:
    if settings.master_key is not None:
        return SecretBox(settings.master_key.get_secret_value().encode("ascii"))
    if settings.master_key_file is not None:
        return SecretBox(_read_key_file(settings.master_key_file))
    embedded = settings.data_dir / "master.key"
    if settings.resolved_database_url.startswith("sqlite") or embedded.exists():
        return SecretBox(_read_or_create_key_file(embedded))
    raise MasterKeyMissing(
        "no master key: every process of a PostgreSQL store needs the same one, in "
        "STREAMPANEL_MASTER_KEY or a 0600 file named by STREAMPANEL_MASTER_KEY_FILE "
        "(make one with `streampanel admin master-key generate --output FILE`)"
    )

"""The master key check: every process on a store holds the key that sealed its secrets.

A process with another key would fail on every secret it opens (each API call, each upload),
so it is refused at start instead, with a message saying why.  The proof is one row: a known
text sealed with the key (``SecretBox.seal_check_value``).  The first process that starts on a
store writes it (``streampanel migrate`` does, on a fleet); two writing at once both insert
"if absent" and then read back the one row that won, so both check the same value.

A store that already holds secrets but no check value (made before the check existed) gets
one only if this key opens one of those secrets: a wrong key must not become the reference.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from streampanel.secretbox import SecretBox
from streampanel.store import StoreRefused
from streampanel.store.accounts import utcnow
from streampanel.store.engine import write_transaction
from streampanel.store.tables.core import api_keys
from streampanel.store.tables.keycheck import master_key_check
from streampanel.store.tables.uploads import upload_destinations

_ROW_ID = 1


class MasterKeyMismatch(StoreRefused):
    """This process's master key is not the one that sealed the store's secrets."""


MISMATCH_MESSAGE = (
    "the master key differs from the one that sealed this store's secrets: every process "
    "of a store must use the same key (STREAMPANEL_MASTER_KEY or STREAMPANEL_MASTER_KEY_FILE)"
)


def read_check_value(conn: Connection) -> str | None:
    return conn.execute(
        select(master_key_check.c.sealed).where(master_key_check.c.id == _ROW_ID)
    ).scalar()


def _some_sealed_secret(conn: Connection) -> str | None:
    for column in (api_keys.c.secret_sealed, upload_destinations.c.secrets_sealed):
        sealed = conn.execute(select(column).limit(1)).scalar()
        if sealed is not None:
            return str(sealed)
    return None


def _opens(box: SecretBox, sealed: str) -> bool:
    try:
        box.open(sealed)
    except ValueError:
        return False
    return True


def ensure_master_key(engine: Engine, box: SecretBox) -> None:
    """Record this key's check value if the store has none; ``MasterKeyMismatch`` if the
    key cannot open the store's check value (or, lacking one, its secrets)."""
    with write_transaction(engine) as conn:
        sealed = read_check_value(conn)
        if sealed is None:
            existing = _some_sealed_secret(conn)
            if existing is not None and not _opens(box, existing):
                raise MasterKeyMismatch(MISMATCH_MESSAGE)
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(
                dialect.insert(master_key_check)
                .values(id=_ROW_ID, sealed=box.seal_check_value(), created=utcnow())
                .on_conflict_do_nothing(index_elements=["id"])
            )
            sealed = read_check_value(conn)
    if sealed is None or not box.opens_check_value(sealed):
        raise MasterKeyMismatch(MISMATCH_MESSAGE)

"""Opening what every entry point needs: the settings' store, at this code's schema, and the
secret box holding the store's master key."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from streampanel.secretbox import SecretBox, load_secret_box
from streampanel.settings import Settings
from streampanel.store.engine import create_store_engine
from streampanel.store.keycheck import ensure_master_key
from streampanel.store.outage import Backoff, is_unavailable
from streampanel.store.schema import migrate_schema, wait_for_schema


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    box: SecretBox

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(
    settings: Settings, *, wait_for_store: bool = False, pool_size: int | None = None
) -> Runtime:
    """The store and secret box, once the schema is this code's (migrated when the settings
    allow it, else waited for) and the master key is the store's.

    ``wait_for_store`` is for long-running processes: an unreachable store is waited for
    (logged once, retried with capped backoff) instead of failing the start.  ``pool_size``
    is how many threads of the process use the store at once.

    Raises ``StoreRefused`` (schema of another release, another master key) and
    ``MasterKeyMissing``, each with a one-line message.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url, pool_size=pool_size)
    try:
        box = load_secret_box(settings)
        backoff = Backoff()
        while True:
            try:
                if settings.migrates_on_start:
                    migrate_schema(engine)
                else:
                    wait_for_schema(engine, settings.schema_wait_seconds)
                ensure_master_key(engine, box)
                break
            except SQLAlchemyError as exc:
                if not (wait_for_store and is_unavailable(exc)):
                    raise
                time.sleep(backoff.next())
    except BaseException:
        engine.dispose()
        raise
    return Runtime(settings, engine, box)

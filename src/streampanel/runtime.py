"""Opening what every entry point needs: the settings' store, at this code's schema, and the
secret box holding the store's master key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from streampanel.secretbox import SecretBox, load_secret_box
from streampanel.settings import Settings
from streampanel.store.engine import create_store_engine
from streampanel.store.keycheck import ensure_master_key
from streampanel.store.schema import migrate_schema, wait_for_schema


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    box: SecretBox

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(settings: Settings) -> Runtime:
    """The store and secret box, once the schema is this code's (migrated when the settings
    allow it, else waited for) and the master key is the store's.

    Raises ``StoreRefused`` (schema of another release, another master key) and
    ``MasterKeyMissing``, each with a one-line message.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url)
    try:
        box = load_secret_box(settings)
        if settings.migrates_on_start:
            migrate_schema(engine)
        else:
            wait_for_schema(engine, settings.schema_wait_seconds)
        ensure_master_key(engine, box)
    except BaseException:
        engine.dispose()
        raise
    return Runtime(settings, engine, box)

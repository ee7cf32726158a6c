"""Opening what every entry point needs: the settings' store, migrated, and the secret box."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from streampanel.secretbox import SecretBox, load_secret_box
from streampanel.settings import Settings
from streampanel.store.engine import create_store_engine, migrate


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    box: SecretBox

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(settings: Settings, *, migrate_schema: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url)
    if migrate_schema:
        migrate(engine)
    return Runtime(settings, engine, load_secret_box(settings))

"""Opening the store for a CLI command, saying first which store it is.

An unset ``STREAMPANEL_DATABASE_URL`` quietly means the SQLite file in the data directory;
one stderr line per command (``store: ...``, never a password) makes that visible.
"""

from __future__ import annotations

from collections.abc import Callable

import typer
from sqlalchemy import Engine

from streampanel.runtime import Runtime, open_runtime
from streampanel.settings import Settings
from streampanel.store.engine import store_label


def announce_store(settings: Settings) -> None:
    typer.echo(f"store: {store_label(settings.resolved_database_url)}", err=True)


def open_store(
    settings: Settings, *, wait_for_store: bool = False, pool_size: int | None = None
) -> Runtime:
    """The command's runtime on the settings' store (migrated or waited for, key checked).

    Long-running commands pass ``wait_for_store``: they wait for an unreachable store
    instead of exiting (``open_runtime``)."""
    announce_store(settings)
    return open_runtime(settings, wait_for_store=wait_for_store, pool_size=pool_size)


def purge_now(
    older_than_days: float | None,
    retention: Callable[[Settings], float],
    purge: Callable[[Engine, float], int],
) -> tuple[int, float]:
    """Run a housekeeping ``purge(engine, days)`` once on the settings' store: rows older
    than ``older_than_days``, or than the configured ``retention(settings)`` when not given.
    Returns what was deleted and the days used."""
    settings = Settings()
    days = older_than_days if older_than_days is not None else retention(settings)
    runtime = open_store(settings)
    try:
        return purge(runtime.engine, days), days
    finally:
        runtime.close()

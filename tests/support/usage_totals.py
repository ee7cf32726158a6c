"""Reading the usage totals of a SQLite store, for comparing a crashed run with a clean one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

_TABLES = ("usage_daily", "usage_unattributed")


def usage_totals(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the usage tables, without bookkeeping columns, sorted."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            result: dict[str, list[tuple[Any, ...]]] = {}
            for table in _TABLES:
                columns = [r[1] for r in conn.execute(text(f"PRAGMA table_info('{table}')"))]
                keep = [c for c in columns if c not in {"id", "updated", "created"}]
                rows = conn.execute(text(f'SELECT {", ".join(keep)} FROM "{table}"'))
                result[table] = sorted(tuple(row) for row in rows)
            return result
    finally:
        engine.dispose()

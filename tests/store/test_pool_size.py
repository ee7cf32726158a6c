"""A process's pool holds as many connections as its threads keep (``pool_size``), on SQLite
as on PostgreSQL: the API threads keep theirs between requests."""

from __future__ import annotations

from pathlib import Path

from streampanel.settings import Settings
from streampanel.store.engine import POOL_OVERFLOW, create_store_engine
from streampanel.system import store_pool_size


def test_a_sqlite_file_store_pools_what_the_process_needs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_threads=24)
    engine = create_store_engine(
        f"sqlite:///{tmp_path / 'a.db'}", pool_size=store_pool_size(settings)
    )
    try:
        assert engine.pool.size() == store_pool_size(settings) >= 24  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == POOL_OVERFLOW  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_an_in_memory_sqlite_store_keeps_its_single_connection() -> None:
    engine = create_store_engine("sqlite:///:memory:", pool_size=30)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
    engine.dispose()

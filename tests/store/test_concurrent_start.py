"""A fleet starting at once on an empty store: the explicit migration step, a process that
may migrate at start and one that only waits, launched together, twenty times (ten on
SQLite).  Every round must end with all three exited cleanly and the schema and master key
check in place.

(Before the migration lock, 3 of 24 such starts on PostgreSQL failed: two processes created
``alembic_version`` at once.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from streampanel.store.engine import create_store_engine
from streampanel.store.schema import schema_status
from streampanel.store.tables.keycheck import master_key_check
from tests.conftest import MASTER_KEY, _fresh_postgres_database

pytestmark = pytest.mark.slow

# Twenty on PostgreSQL, where fleets run; SQLite serves one machine, fewer rounds show it.
ROUNDS = {"postgresql": 20, "sqlite": 10}

# What each process of a round runs, and its own settings.
FLEET = (
    (("migrate",), {}),
    (("viewers", "purge"), {"STREAMPANEL_MIGRATE_ON_START": "true"}),
    (("worker", "--burst"), {"STREAMPANEL_MIGRATE_ON_START": "false"}),
)


def start_at_once(url: str, data_dir: Path) -> list[tuple[list[str], int, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")}
    base |= {
        "STREAMPANEL_DATABASE_URL": url,
        "STREAMPANEL_DATA_DIR": str(data_dir),
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
        "STREAMPANEL_SCHEMA_WAIT_SECONDS": "120",
    }
    processes = [
        (
            [*args],
            subprocess.Popen(
                [sys.executable, "-m", "streampanel", *args],
                env={**base, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for args, env in FLEET
    ]
    results = []
    for args, process in processes:
        _, stderr = process.communicate(timeout=180)
        results.append((args, process.returncode, stderr))
    return results


def problems_of_round(url: str, data_dir: Path) -> list[str]:
    problems = [
        f"{' '.join(args)} exited {code}: {stderr.strip()[-600:]}"
        for args, code, stderr in start_at_once(url, data_dir)
        if code != 0 or "Traceback" in stderr or "error" in stderr.lower()
    ]
    engine = create_store_engine(url)
    try:
        if not schema_status(engine).current:
            problems.append(f"schema not current: {schema_status(engine).describe()}")
        with engine.connect() as conn:
            checks = conn.execute(select(func.count()).select_from(master_key_check)).scalar()
        if checks != 1:
            problems.append(f"{checks} master key check rows")
    finally:
        engine.dispose()
    return problems


def test_three_processes_starting_at_once_on_an_empty_store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rounds = ROUNDS[store_kind]
    failed: dict[int, list[str]] = {}
    for round_ in range(rounds):
        data_dir = tmp_path / f"round{round_}"
        if store_kind == "sqlite":
            url = f"sqlite:///{data_dir / 'streampanel.db'}"
        else:
            server_url = request.getfixturevalue("postgres_server_url")
            url = _fresh_postgres_database(server_url, f"streampanel_fleet_{round_}")
        problems = problems_of_round(url, data_dir)
        if problems:
            failed[round_] = problems
    assert not failed, f"{len(failed)} of {rounds} rounds failed: {failed}"

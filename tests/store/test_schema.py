"""Who changes the schema and who waits for it: ``migrate_schema`` under the store's lock,
``wait_for_schema`` bounded with one log line, and a schema newer than the code refused in
one line naming both revisions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from streampanel.store.engine import SCHEMA_HEADS, create_store_engine
from streampanel.store.schema import (
    MIGRATION_LOCK_KEY,
    SchemaMismatch,
    migrate_schema,
    read_revisions,
    schema_status,
    wait_for_schema,
)
from tests.conftest import STORES

HEADS = ", ".join(sorted(SCHEMA_HEADS))


@pytest.fixture
def empty_engine(empty_store_url: str) -> Iterator[Engine]:
    engine = create_store_engine(empty_store_url)
    yield engine
    engine.dispose()


class SteppedClock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def tables(engine: Engine) -> set[str]:
    from sqlalchemy import inspect

    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_a_waiting_process_gives_up_in_one_line_naming_both_revisions(
    empty_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SteppedClock()
    with (
        caplog.at_level(logging.INFO, "streampanel.store.schema"),
        pytest.raises(SchemaMismatch) as refused,
    ):
        wait_for_schema(empty_engine, 10, sleep=clock.sleep, clock=clock)
    message = str(refused.value)
    assert "\n" not in message
    assert "the store is at none (empty store)" in message
    assert f"this release needs {HEADS}" in message
    assert "streampanel migrate" in message
    assert "waited 10 s" in message
    assert sum(clock.sleeps) == 10
    # One line when the wait starts, not one per poll.
    assert len(caplog.records) == 1
    assert "waiting up to 10 s" in caplog.records[0].getMessage()
    # Waiting changed nothing: no table was created.
    assert tables(empty_engine) == set()


def test_a_waiting_process_starts_once_the_schema_is_migrated(
    empty_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SteppedClock()

    def migrate_meanwhile(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:  # someone runs `streampanel migrate`
            migrate_schema(empty_engine)

    with caplog.at_level(logging.INFO, "streampanel.store.schema"):
        wait_for_schema(empty_engine, 60, sleep=migrate_meanwhile, clock=clock)
    assert len(clock.sleeps) == 3
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert "waiting up to 60 s" in messages[0]
    assert messages[1].startswith("store schema reached")


def test_migrate_brings_an_empty_store_to_the_heads_and_then_does_nothing(
    empty_engine: Engine,
) -> None:
    before = migrate_schema(empty_engine)
    assert before.revisions == frozenset()
    assert schema_status(empty_engine).current
    again = migrate_schema(empty_engine)
    assert again.current
    wait_for_schema(empty_engine, 0)  # current: returns at once


def stamp_newer_revision(engine: Engine) -> None:
    # What a newer release leaves behind: a revision this code has no script for.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alembic_version SET version_num = '9999' WHERE version_num = '0002'")
        )


def test_a_schema_newer_than_the_code_is_refused_at_once(empty_engine: Engine) -> None:
    migrate_schema(empty_engine)
    stamp_newer_revision(empty_engine)
    clock = SteppedClock()
    with pytest.raises(SchemaMismatch) as refused:
        wait_for_schema(empty_engine, 60, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []  # no waiting: nothing this code can do will fix it
    message = str(refused.value)
    assert "\n" not in message
    assert "newer than this release" in message
    assert "9999" in message
    assert f"knows up to {HEADS}" in message
    # Neither may the migration step touch it.
    with pytest.raises(SchemaMismatch):
        migrate_schema(empty_engine)
    with empty_engine.connect() as conn:
        assert "9999" in read_revisions(conn)


@pytest.mark.skipif("postgresql" not in STORES, reason="PostgreSQL stores not tested in this run")
@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_migrate_waits_for_the_postgresql_migration_lock(empty_store_url: str) -> None:
    engine = create_store_engine(empty_store_url)
    holder = create_engine(empty_store_url, isolation_level="AUTOCOMMIT")
    observer = create_engine(empty_store_url, isolation_level="AUTOCOMMIT")
    try:
        with holder.connect() as held:
            held.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            done = threading.Event()
            failure: list[BaseException] = []

            def run() -> None:
                try:
                    migrate_schema(engine)
                except BaseException as exc:  # reported by the main thread
                    failure.append(exc)
                finally:
                    done.set()

            migrator = threading.Thread(target=run)
            migrator.start()
            # The migrator is seen queued on the lock, having changed nothing.
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            with observer.connect() as conn:
                for _ in range(600):
                    if conn.execute(waiting).scalar() == 1 or done.is_set():
                        break
                    threading.Event().wait(0.05)
                assert conn.execute(waiting).scalar() == 1, failure
            assert not done.is_set()
            assert tables(engine) == set()
            held.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
            migrator.join(60)
        assert done.is_set() and not failure, failure
        assert schema_status(engine).current
    finally:
        engine.dispose()
        holder.dispose()
        observer.dispose()

"""The Alembic migrations build exactly the schema the table modules describe, on both stores;
a store already at the newest revisions is recognised without Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from streampanel.runtime import Runtime
from streampanel.store.engine import SCHEMA_HEADS, alembic_config, create_store_engine
from streampanel.store.schema import migrate_schema, schema_is_current
from streampanel.store.tables import metadata


def test_migrated_schema_matches_the_tables(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_schema_heads_are_the_heads_of_the_migration_scripts(runtime: Runtime) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(runtime.engine))
    assert set(scripts.get_heads()) == SCHEMA_HEADS, (
        "a migration was added or removed: update SCHEMA_HEADS in streampanel/store/engine.py"
    )


def test_migrated_store_is_current(runtime: Runtime) -> None:
    assert schema_is_current(runtime.engine)


def test_store_behind_the_heads_is_upgraded(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        assert not schema_is_current(engine)  # no alembic_version table at all
        command.upgrade(alembic_config(engine), "0001")
        assert not schema_is_current(engine)

        migrate_schema(engine)

        assert schema_is_current(engine)
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert set(versions) == SCHEMA_HEADS
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()

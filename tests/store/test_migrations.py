"""The Alembic migrations build exactly the schema the table modules describe, on both stores."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from streampanel.runtime import Runtime
from streampanel.store.tables import metadata


def test_migrated_schema_matches_the_tables(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []

"""deploy/postgresql/roles.sql does what docs/deploy.md says: the migrator role builds the
schema, the application role works with rows and can change no table."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from tests.deploy.conftest import Centre, streampanel

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE intruder (id integer)",
        "ALTER TABLE accounts ADD COLUMN intruder integer",
        "DROP TABLE rate_buckets",
        "CREATE INDEX intruder ON accounts (name)",
    ],
)
def test_the_application_role_cannot_change_the_schema(centre: Centre, ddl: str) -> None:
    engine = create_engine(centre.app_url)
    try:
        with pytest.raises(ProgrammingError) as refused, engine.begin() as conn:
            conn.execute(text(ddl))
        assert getattr(refused.value.orig, "sqlstate", None) in {"42501", "42P01"}
    finally:
        engine.dispose()


def test_migrate_as_the_application_role_is_refused_in_one_line(centre: Centre) -> None:
    # The store as if one feature branch's migration had yet to run.
    back = "DELETE FROM alembic_version WHERE version_num = '0002'"
    forth = "INSERT INTO alembic_version (version_num) VALUES ('0002')"
    migrator = create_engine(centre.migrator_url)
    with migrator.begin() as conn:
        conn.execute(text(back))
    try:
        result = streampanel(centre.env(), "migrate")
    finally:
        with migrator.begin() as conn:
            conn.execute(text(forth))
        migrator.dispose()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    *_, error = result.stderr.strip().splitlines()
    assert error.startswith("error: the store refused the migration (")
    assert "run it as the role that owns the schema" in error


def test_the_application_role_runs_the_commands(centre: Centre) -> None:
    listed = streampanel(centre.env(), "admin", "account", "list")
    assert listed.returncode == 0, listed.stderr
    assert "fleet" in listed.stdout
    created = streampanel(centre.env(), "admin", "key", "create", "--cdn", "158")
    assert created.returncode == 0, created.stderr  # sequences are usable too
    assert streampanel(centre.env(), "migrate", "--check").returncode == 0

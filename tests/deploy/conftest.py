"""A centre set up as docs/deploy.md says: PostgreSQL with deploy/postgresql/roles.sql run,
the schema made by ``streampanel migrate`` as the migrator role, and everything else done
as the application role."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.conftest import MASTER_KEY, Credentials, repo_root
from tests.support.postgres import ThrowawayPostgres

ROLES_SQL = repo_root() / "deploy" / "postgresql" / "roles.sql"


@dataclass
class Centre:
    port: int
    migrator_url: str
    app_url: str
    data_dir: Path
    credentials: Credentials

    def env(self, url: str | None = None) -> dict[str, str]:
        """A centre process's environment (the application role unless told otherwise)."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")},
            "STREAMPANEL_DATABASE_URL": url or self.app_url,
            "STREAMPANEL_DATA_DIR": str(self.data_dir),
            "STREAMPANEL_MASTER_KEY": MASTER_KEY,
        }


def streampanel(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streampanel", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Centre]:
    cluster = ThrowawayPostgres()
    cluster.start()
    try:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-q",
                "-v",
                "migrator_password=migrator-pw",
                "-v",
                "app_password=app-pw",
                "-f",
                str(ROLES_SQL),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        base = f"127.0.0.1:{cluster.port}/streampanel"
        centre = Centre(
            port=cluster.port,
            migrator_url=f"postgresql+psycopg://streampanel_migrator:migrator-pw@{base}",
            app_url=f"postgresql+psycopg://streampanel_app:app-pw@{base}",
            data_dir=tmp_path_factory.mktemp("centre"),
            credentials=Credentials(0, "", ""),
        )
        migrated = streampanel(centre.env(centre.migrator_url), "migrate")
        assert migrated.returncode == 0, migrated.stderr
        # Everything after the migration is the application role's.
        settings = Settings(
            database_url=centre.app_url, data_dir=centre.data_dir, master_key=MASTER_KEY
        )
        runtime = open_runtime(settings)
        try:
            with write_transaction(runtime.engine) as conn:
                accounts.create_account(conn, 158, "fleet")
                api_key, secret = accounts.create_api_key(conn, runtime.box, 158)
                app_id = accounts.create_application(conn, 158, "fleet-live")
        finally:
            runtime.close()
        centre.credentials = Credentials(158, api_key, secret, {"fleet-live": app_id})
        yield centre
    finally:
        cluster.stop()

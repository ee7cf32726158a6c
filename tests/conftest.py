"""Shared fixtures: both stores, a clean runtime per test, account factories, live servers.

Every test that takes ``runtime`` (or anything built on it) runs once on SQLite and once on
PostgreSQL.  PostgreSQL comes from ``STREAMPANEL_TEST_POSTGRES_URL`` or, when that is unset, a
throwaway cluster started for the session.  ``STREAMPANEL_TEST_STORES=sqlite`` limits a quick
local run to SQLite.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from streampanel.runtime import Runtime, open_runtime
from streampanel.server.app import StreampanelApp
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.tables import metadata
from streampanel.system import build_app
from tests.support.postgres import ThrowawayPostgres
from tests.support.server import LiveServer

STORES = [s for s in os.environ.get("STREAMPANEL_TEST_STORES", "sqlite,postgresql").split(",") if s]
MASTER_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    given = os.environ.get("STREAMPANEL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    cluster = ThrowawayPostgres()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def _fresh_postgres_database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def store_settings(
    store_kind: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Settings:
    data_dir = tmp_path_factory.mktemp(f"data-{store_kind}")
    if store_kind == "sqlite":
        url = f"sqlite:///{data_dir / 'streampanel.db'}"
    else:
        server_url = request.getfixturevalue("postgres_server_url")
        url = _fresh_postgres_database(server_url, "streampanel_test")
    # The suite's own process brings each store to the schema (on PostgreSQL a deployment
    # runs `streampanel migrate` for that); the processes tests start only check it.
    return Settings(
        data_dir=data_dir, database_url=url, master_key=MASTER_KEY, migrate_on_start=True
    )


_empty_store_names = itertools.count()


@pytest.fixture
def empty_store_url(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A store of the session's kind with no schema at all (for how processes meet one)."""
    if store_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    server_url = request.getfixturevalue("postgres_server_url")
    return _fresh_postgres_database(server_url, f"streampanel_empty_{next(_empty_store_names)}")


@pytest.fixture(scope="session")
def session_runtime(store_settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(store_settings)
    yield runtime
    runtime.close()


def clean_store(runtime: Runtime) -> None:
    # The master key check stays: it belongs to the store, not to a test's data, and every
    # process of the session holds the key it was sealed with.
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name != "master_key_check"]
    with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def runtime(session_runtime: Runtime) -> Runtime:
    """The session's store, emptied: every test starts from nothing."""
    clean_store(session_runtime)
    return session_runtime


@dataclass
class Credentials:
    cdn: int
    api_key: str
    secret: str
    apps: dict[str, int] = field(default_factory=dict)
    storage_users: list[str] = field(default_factory=list)


MakeAccount = Callable[..., Credentials]


@pytest.fixture
def make_account(runtime: Runtime) -> MakeAccount:
    def make(
        cdn: int,
        apps: tuple[str, ...] = (),
        storage_users: tuple[str, ...] = (),
        read_only: bool = False,
        api_key: str | None = None,
        secret: str | None = None,
    ) -> Credentials:
        with write_transaction(runtime.engine) as conn:
            if accounts.get_account(conn, cdn) is None:
                accounts.create_account(conn, cdn, f"account {cdn}")
            key, sec = accounts.create_api_key(
                conn, runtime.box, cdn, read_only=read_only, api_key=api_key, secret=secret
            )
            app_ids = {name: accounts.create_application(conn, cdn, name) for name in apps}
            for name in storage_users:
                accounts.create_storage_user(conn, cdn, name)
        return Credentials(cdn, key, sec, app_ids, list(storage_users))

    return make


def in_process_app(runtime: Runtime, **settings: Any) -> StreampanelApp:
    """The app as ``streampanel serve`` builds it (``streampanel.system``), in-process on the
    test store, without the background services (they would act on every test's data);
    ``settings`` override the store's."""
    update = {"background_services": False, **settings}
    return build_app(runtime, runtime.settings.model_copy(update=update))


def server_env(settings: Settings) -> dict[str, str]:
    """Environment that points a streampanel process at the test store."""
    return {
        "STREAMPANEL_DATABASE_URL": settings.resolved_database_url,
        "STREAMPANEL_DATA_DIR": str(settings.data_dir),
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
        "STREAMPANEL_LOG_LEVEL": "warning",
    }


@pytest.fixture(scope="session")
def live_server(
    store_settings: Settings, session_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real uvicorn process on the test store (started once per store)."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    # API only: its upload worker, collectors and purge would act on every test's data.  No
    # application cache: every test empties and refills the store, applications included
    # (something production never does: applications are only added), under the same ids.
    env = {
        **server_env(store_settings),
        "STREAMPANEL_BACKGROUND_SERVICES": "false",
        "STREAMPANEL_APPLICATION_CACHE_SECONDS": "0",
    }
    server = LiveServer(env, log)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_api(live_server: LiveServer, runtime: Runtime) -> LiveServer:
    """The live server, with the store emptied for this test."""
    return live_server


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent

"""``streampanel migrate`` is the step that runs DDL; every other command meets the schema as
it finds it: waits for it (bounded), or refuses in one line a schema or master key that is
not its own.  Each command says on stderr which store it opened, never with a password."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, make_url, text

from streampanel.store.engine import SCHEMA_HEADS, create_store_engine, store_label
from tests.conftest import MASTER_KEY, STORES
from tests.support.postgres import free_port

HEADS = ", ".join(sorted(SCHEMA_HEADS))


def streampanel(
    url: str, data_dir: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")}
    environment |= {
        "STREAMPANEL_DATABASE_URL": url,
        "STREAMPANEL_DATA_DIR": str(data_dir),
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "streampanel", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()


def no_migration(store_kind: str) -> dict[str, str]:
    # PostgreSQL's default; SQLite's default is to migrate (one machine), so say it.
    return {"STREAMPANEL_MIGRATE_ON_START": "false"} if store_kind == "sqlite" else {}


def tables(url: str) -> set[str]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_commands_wait_for_migrate_and_never_run_ddl_themselves(
    store_kind: str, empty_store_url: str, tmp_path: Path
) -> None:
    env = {**no_migration(store_kind), "STREAMPANEL_SCHEMA_WAIT_SECONDS": "0"}
    refused = streampanel(empty_store_url, tmp_path, "admin", "account", "list", **env)
    assert refused.returncode == 1
    assert stderr_lines(refused) == [
        f"store: {store_label(empty_store_url)}",
        "error: the store's schema is behind this release: the store is at none (empty "
        f"store), this release needs {HEADS} (run `streampanel migrate`); waited 0 s",
    ]
    assert tables(empty_store_url) == set()

    check = streampanel(empty_store_url, tmp_path, "migrate", "--check")
    assert check.returncode == 1
    assert "the store's schema is behind this release" in check.stdout

    migrated = streampanel(empty_store_url, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert stderr_lines(migrated) == [f"store: {store_label(empty_store_url)}"]
    assert migrated.stdout.strip() == f"schema migrated: empty -> {HEADS}"
    again = streampanel(empty_store_url, tmp_path, "migrate")
    assert again.stdout.strip() == f"schema already current ({HEADS})"
    assert streampanel(empty_store_url, tmp_path, "migrate", "--check").returncode == 0

    listed = streampanel(empty_store_url, tmp_path, "admin", "account", "list", **env)
    assert listed.returncode == 0, listed.stderr
    assert "accounts: (none)" in listed.stdout


def test_a_schema_newer_than_the_code_is_one_line(
    store_kind: str, empty_store_url: str, tmp_path: Path
) -> None:
    assert streampanel(empty_store_url, tmp_path, "migrate").returncode == 0
    engine = create_store_engine(empty_store_url)
    with engine.begin() as conn:  # what a newer release's migrate leaves
        conn.execute(
            text("UPDATE alembic_version SET version_num = '9999' WHERE version_num = '0002'")
        )
    engine.dispose()
    stored = ", ".join(sorted((SCHEMA_HEADS - {"0002"}) | {"9999"}))
    expected = (
        f"error: the store's schema is newer than this release: the store is at {stored}, "
        f"this release knows up to {HEADS} (upgrade streampanel on this machine)"
    )
    for args in (("admin", "account", "list"), ("migrate",), ("worker", "--burst")):
        # Also where migrating at start is allowed: nothing may take it backwards.
        result = streampanel(empty_store_url, tmp_path, *args, STREAMPANEL_MIGRATE_ON_START="true")
        assert result.returncode == 1, args
        assert stderr_lines(result)[-1] == expected, args


def test_a_process_with_another_master_key_refuses_to_start(
    empty_store_url: str, tmp_path: Path
) -> None:
    assert streampanel(empty_store_url, tmp_path, "migrate").returncode == 0
    other = Fernet.generate_key().decode()
    expected = (
        "error: the master key differs from the one that sealed this store's secrets: every "
        "process of a store must use the same key (STREAMPANEL_MASTER_KEY or "
        "STREAMPANEL_MASTER_KEY_FILE)"
    )
    listed = streampanel(
        empty_store_url, tmp_path, "admin", "account", "list", STREAMPANEL_MASTER_KEY=other
    )
    assert listed.returncode == 1
    assert stderr_lines(listed)[-1] == expected
    served = streampanel(
        empty_store_url,
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        STREAMPANEL_MASTER_KEY=other,
        STREAMPANEL_BACKGROUND_SERVICES="false",
    )
    assert served.returncode == 1
    assert stderr_lines(served)[-1] == expected
    # The rightful key works.
    assert streampanel(empty_store_url, tmp_path, "admin", "account", "list").returncode == 0


@pytest.mark.skipif("postgresql" not in STORES, reason="PostgreSQL stores not tested in this run")
@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_the_store_line_shows_no_password(empty_store_url: str, tmp_path: Path) -> None:
    # The throwaway cluster trusts local connections, so any password gets in.
    url = make_url(empty_store_url).set(password="s3cret-pw")
    result = streampanel(url.render_as_string(hide_password=False), tmp_path, "migrate", "--check")
    parsed = make_url(empty_store_url)
    assert stderr_lines(result) == [
        f"store: postgresql://postgres@{parsed.host}:{parsed.port}/{parsed.database}"
    ]
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_master_key_generate_prints_or_writes_a_0600_file(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "streampanel", "admin", "master-key", "generate"],
        capture_output=True,
        text=True,
        check=True,
    )
    Fernet(printed.stdout.strip().encode())  # a valid key, alone on stdout
    key_file = tmp_path / "keys" / "master.key"
    command = [sys.executable, "-m", "streampanel", "admin", "master-key", "generate"]
    written = subprocess.run([*command, "--output", str(key_file)], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""  # the key is only in the file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    Fernet(key.encode())
    again = subprocess.run([*command, "--output", str(key_file)], capture_output=True, text=True)
    assert again.returncode == 1
    assert "is never overwritten" in again.stderr
    assert key_file.read_text().strip() == key

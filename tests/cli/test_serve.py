"""``streampanel serve`` on a fresh machine: creates and migrates its SQLite file (WAL) and
its master key by itself."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from streampanel.cli.serve import demo_warning
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow


def test_fresh_data_dir_gets_a_migrated_sqlite_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")}
    env["STREAMPANEL_DATA_DIR"] = str(data_dir)
    port = free_port()
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streampanel", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail((tmp_path / "log").read_text())
    finally:
        process.terminate()
        process.wait(10)
    database = data_dir / "streampanel.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"accounts", "api_keys", "applications", "alembic_version"} <= tables
    key_file = data_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_busy_port_is_reported_before_anything_else(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")}
    env["STREAMPANEL_DATA_DIR"] = str(data_dir)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "streampanel", "serve", "--demo", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing happened before: no store created, no demo data, no "listening on".
    assert result.stdout == ""
    assert not (data_dir / "streampanel.db").exists()


def test_demo_warns_beyond_loopback() -> None:
    assert demo_warning("127.0.0.1") is None
    assert demo_warning("::1") is None
    assert demo_warning("localhost") is None
    warning = demo_warning("0.0.0.0")
    assert warning is not None and "PUBLIC example credentials" in warning

"""Disk full during ingest: the ingest stops with a clear message and, after space is freed,
completes exactly once (the same totals as one clean run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from streampanel.ingest.synth import hls_lines, write_log
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.conftest import MASTER_KEY
from tests.support.usage_totals import usage_totals

pytestmark = pytest.mark.slow

APPS = [f"app{n:03d}" for n in range(120)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI and the test command run as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def prepare_store(data_dir: Path) -> Settings:
    settings = Settings(data_dir=data_dir, master_key=MASTER_KEY)
    runtime = open_runtime(settings)
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, 158, "disk-full")
        for app in APPS:
            accounts.create_application(conn, 158, app)
        accounts.create_server(conn, "EDGE1")
    runtime.close()
    return settings


def ingest(settings: Settings, log: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STREAMPANEL_DATA_DIR": str(settings.data_dir),
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
    }
    env.pop("STREAMPANEL_DATABASE_URL", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streampanel",
            "ingest",
            "access-log",
            "--server",
            "EDGE1",
            "--create-server",
            "--block-mib",
            "0.25",
            str(log),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def totals(settings: Settings) -> dict[str, list[tuple]]:
    return usage_totals(settings.data_dir / "streampanel.db")


def test_disk_full_then_freed_completes_exactly_once(small_disk: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write_log(
        str(log),
        hls_lines(start=datetime(2026, 1, 1), seconds=90 * 86400, count=60_000, apps=APPS, seed=7),
    )
    settings = prepare_store(small_disk / "data")
    # Leave only a little room: the totals of 90 days x 120 applications do not fit.
    used = sum(f.stat().st_size for f in (small_disk / "data").rglob("*") if f.is_file())
    filler = small_disk / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, 16 * 1024 * 1024 - used - 160 * 1024))

    failed = ingest(settings, log)
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "Traceback" not in output, output
    assert any(word in output.lower() for word in ("disk is full", "no space", "disk full")), output

    filler.unlink()
    finished = ingest(settings, log)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    again = ingest(settings, log)  # and ingesting it again adds nothing
    assert again.returncode == 0

    clean = prepare_store(tmp_path / "clean")
    assert ingest(clean, log).returncode == 0
    assert totals(settings) == totals(clean)
    assert totals(clean)["usage_daily"]
    shutil.rmtree(tmp_path / "clean")

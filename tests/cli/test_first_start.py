"""What a newcomer sees on a fresh store: no Alembic chatter, and lines that are not wrapped
mid-sentence when the output is narrow or goes to a pipe or a log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def streampanel(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")}
    env |= {"STREAMPANEL_DATA_DIR": str(data_dir), "STREAMPANEL_LOG_LEVEL": "info"}
    # Narrower than any line below: rich would wrap at this width.
    env["COLUMNS"] = "40"
    return subprocess.run(
        [sys.executable, "-m", "streampanel", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_fresh_store_starts_without_alembic_lines(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    result = streampanel(data_dir, "worker", "--burst")
    assert result.returncode == 0, result.stderr
    assert (data_dir / "streampanel.db").exists()  # the store was created and migrated
    # INFO lines are shown (the worker's own), Alembic's are not.
    assert " INFO streampanel.uploads.worker " in result.stderr
    assert "alembic" not in result.stderr.lower(), result.stderr


def test_long_lines_are_not_wrapped(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    # A log line longer than the terminal stays one line.
    worker = streampanel(data_dir, "worker", "--burst")
    assert any(
        line.endswith("no storage_roots configured, so no job to claim")
        and " WARNING streampanel.uploads.worker " in line
        for line in worker.stderr.splitlines()
    ), worker.stderr
    # So does a message, and an error.
    name = "EDGE-" + "x" * 60
    created = streampanel(data_dir, "admin", "server", "create", name)
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == [f"server {name} created with id 1"]
    again = streampanel(data_dir, "admin", "server", "create", name)
    assert again.returncode != 0
    # stderr: the line naming the store, then the error's one line.
    store_line, error = again.stderr.strip().splitlines()
    assert store_line == f"store: {data_dir / 'streampanel.db'} (SQLite)"
    assert error.startswith("error: already exists or conflicts with existing data")

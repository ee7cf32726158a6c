"""The top-level command loads a sub-command's module only when that sub-command is used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from streampanel.cli import COMMANDS, app, load_command
from streampanel.runtime import Runtime
from tests.conftest import server_env

# What `streampanel worker` must not pay for at start-up: the web server, the other
# features, Alembic on a migrated store, and the clients of jobs it has not got.
NOT_FOR_THE_WORKER = (
    "alembic",
    "googleapiclient",
    "httpx",
    "polars",
    "starlette",
    "uvicorn",
    "streampanel.commands",
    "streampanel.demo",
    "streampanel.ingest",
    "streampanel.api",
    "streampanel.server",
    "streampanel.system",
    "streampanel.viewers",
    "streampanel.web",
    "streampanel.cli.admin",
    "streampanel.cli.serve",
)


def test_every_sub_command_loads_under_its_own_name() -> None:
    for name in COMMANDS:
        command = load_command(name)
        assert command.name == name
        assert command.help, f"{name} has no help text"


def test_help_lists_every_sub_command() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert f" {name} " in result.output


def test_a_mistyped_sub_command_gets_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["workr"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Did you mean 'worker'?" in result.output


def test_worker_start_up_imports_only_what_it_uses(runtime: Runtime, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from streampanel.cli import app\n"
        "try:\n"
        "    app(['worker', '--burst'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, f'worker exited with {exit.code}'\n"
        f"unwanted = {NOT_FOR_THE_WORKER!r}\n"
        "print(sorted({u for u in unwanted for m in sys.modules"
        " if m == u or m.startswith(u + '.')}))\n"
    )
    env = {**server_env(runtime.settings), "STREAMPANEL_STORAGE_ROOTS": f'["{tmp_path}"]'}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout

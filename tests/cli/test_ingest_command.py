"""``streampanel ingest access-log`` guards against the two silent mistakes of a first try: a
typo in ``--server`` (which used to create a new server) and a log of another format (which
used to end "successfully" with every line rejected)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.conftest import MakeAccount, server_env

FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"


def ingest(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streampanel", "ingest", "access-log", *args],
        env={**os.environ, **server_env(runtime.settings), "COLUMNS": "60"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_text(result: subprocess.CompletedProcess[str]) -> str:
    """stderr after its first line, which names the store."""
    store_line, _, rest = result.stderr.strip().partition("\n")
    assert store_line.startswith("store: "), result.stderr
    return rest


def server_names(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return [row["name"] for row in accounts.list_servers(conn)]


def test_an_unknown_server_is_refused_with_a_hint(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    make_account(158, apps=("alpha", "beta"))
    with write_transaction(runtime.engine) as conn:
        accounts.create_server(conn, "EDGE1")
    result = ingest(runtime, "--server", "EDG1", str(FIXTURES / "combined.log"))
    assert result.returncode != 0
    message = error_text(result)
    # One line however narrow the terminal, naming the fix and the likely intended name.
    assert len(message.splitlines()) == 1, message
    assert "unknown server 'EDG1'" in message
    assert "did you mean 'EDGE1'" in message
    assert "streampanel admin server create EDG1" in message
    assert "--create-server" in message
    assert server_names(runtime) == ["EDGE1"]


def test_a_known_server_or_create_server_ingests(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    make_account(158, apps=("alpha", "beta"))
    with write_transaction(runtime.engine) as conn:
        accounts.create_server(conn, "EDGE1")
    known = ingest(runtime, "--server", "EDGE1", "--json", str(FIXTURES / "combined.log"))
    assert known.returncode == 0, known.stderr
    created = ingest(
        runtime, "--server", "EDGE2", "--create-server", str(FIXTURES / "combined.log")
    )
    assert created.returncode == 0, created.stderr
    assert server_names(runtime) == ["EDGE1", "EDGE2"]


def test_a_file_whose_every_line_is_rejected_fails(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    make_account(158, apps=("alpha", "beta"))
    # A Wowza log read as nginx combined: not one line parses.
    result = ingest(runtime, "--server", "EDGE1", "--create-server", str(FIXTURES / "wowza.log"))
    assert result.returncode != 0
    message = error_text(result)
    assert len(message.splitlines()) == 1, message
    assert f"every line of {FIXTURES / 'wowza.log'} was rejected as nginx-combined" in message
    assert "--format nginx-combined|nginx-json|wowza" in message
    assert "ingest summary" in result.stdout  # the summary is still shown
    # The same file in its own format is ingested, and so is a file with some bad lines.
    right = ingest(runtime, "--server", "EDGE1", "--format", "wowza", str(FIXTURES / "wowza.log"))
    assert right.returncode == 0, right.stderr
    partly = ingest(runtime, "--server", "EDGE1", str(FIXTURES / "combined.log"))
    assert partly.returncode == 0, partly.stderr
    assert "4 rejected lines" in partly.stdout

"""``streampanel admin``: accounts, keys, applications, servers, storage users."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from streampanel.cli import app
from streampanel.runtime import Runtime
from streampanel.store.tables import api_keys
from tests.conftest import server_env


@pytest.fixture
def cli(runtime: Runtime):
    runner = CliRunner()
    env = {**server_env(runtime.settings), "COLUMNS": "200"}

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    return invoke


def test_account_key_app_lifecycle(cli, runtime: Runtime) -> None:
    assert cli("admin", "account", "create", "--cdn", "300", "--name", "Acme").exit_code == 0
    assert "Acme" in cli("admin", "account", "list").output

    created = cli("admin", "key", "create", "--cdn", "300", "--label", "ci")
    assert created.exit_code == 0, created.output
    api_key = re.search(r"api_key\s*│\s*(\w+)", created.output).group(1)
    secret = re.search(r"secret\s*│\s*(\w+)", created.output).group(1)
    assert len(secret) == 64

    listed = cli("admin", "key", "list", "--cdn", "300")
    assert api_key in listed.output
    assert secret not in listed.output

    # Secrets are sealed at rest: the plaintext is nowhere in the row.
    with runtime.engine.connect() as conn:
        sealed = conn.execute(select(api_keys.c.secret_sealed)).scalar_one()
    assert secret not in sealed
    assert runtime.box.open(sealed) == secret

    assert cli("admin", "app", "create", "acme-live", "--cdn", "300").exit_code == 0
    assert "acme-live" in cli("admin", "app", "list", "--cdn", "300").output
    assert cli("admin", "server", "create", "AMS", "--location", "Amsterdam").exit_code == 0
    assert "Amsterdam" in cli("admin", "server", "list").output
    assert cli("admin", "storage-user", "create", "acme", "--cdn", "300").exit_code == 0
    assert "acme" in cli("admin", "storage-user", "list", "--cdn", "300").output

    assert cli("admin", "key", "revoke", api_key).exit_code == 0
    again = cli("admin", "key", "revoke", api_key)
    assert again.exit_code == 1
    assert "no active key" in again.output


def test_read_only_key(cli) -> None:
    cli("admin", "account", "create", "--cdn", "301", "--name", "RO")
    created = cli("admin", "key", "create", "--cdn", "301", "--read-only")
    assert created.exit_code == 0
    assert "True" in cli("admin", "key", "list", "--cdn", "301").output


def test_user_errors_are_one_clean_line(cli) -> None:
    missing = cli("admin", "key", "create", "--cdn", "999")
    assert missing.exit_code == 1
    assert "no account with cdn 999" in missing.output
    assert "Traceback" not in missing.output

    cli("admin", "account", "create", "--cdn", "302", "--name", "A")
    cli("admin", "app", "create", "taken", "--cdn", "302")
    duplicate = cli("admin", "app", "create", "taken", "--cdn", "302")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    assert "Traceback" not in duplicate.output

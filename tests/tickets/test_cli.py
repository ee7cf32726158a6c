"""``streampanel tickets``: the link secret nginx needs, and the purge."""

from __future__ import annotations

from typer.testing import CliRunner

from streampanel.cli import app
from streampanel.runtime import Runtime
from streampanel.tickets.links import LINK_PURPOSE
from tests.conftest import server_env


def test_link_secret_is_what_the_routes_sign_with(runtime: Runtime) -> None:
    result = CliRunner().invoke(app, ["tickets", "link-secret"], env=server_env(runtime.settings))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == runtime.box.derive_key(LINK_PURPOSE).hex()


def test_purge(runtime: Runtime) -> None:
    result = CliRunner().invoke(
        app, ["tickets", "purge", "--older-than-days", "1"], env=server_env(runtime.settings)
    )
    assert result.exit_code == 0, result.output
    assert "deleted 0 ticket attempts" in result.stdout

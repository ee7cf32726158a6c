"""``streampanel call``: the SDK from the shell, against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streampanel.cli import app
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET
from tests.conftest import MakeAccount
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(live_api: LiveServer, make_account: MakeAccount) -> LiveServer:
    make_account(
        DEMO_CDN, apps=("demo-origin", "demo-live"), api_key=DEMO_API_KEY, secret=DEMO_SECRET
    )
    return live_api


def flags(server: LiveServer, secret: str = DEMO_SECRET) -> list[str]:
    return [
        "--url",
        server.api_url,
        "--cdn",
        str(DEMO_CDN),
        "--api-key",
        DEMO_API_KEY,
        "--secret",
        secret,
    ]


def test_table_output(demo: LiveServer) -> None:
    result = CliRunner().invoke(app, ["call", "video.getapps", *flags(demo)])
    assert result.exit_code == 0, result.output
    assert "Found Applications" in result.output
    assert "demo-origin" in result.output and "demo-live" in result.output


def test_json_output(demo: LiveServer) -> None:
    result = CliRunner().invoke(app, ["call", "video.getapps", "--json", *flags(demo)])
    body = json.loads(result.output)
    assert body["status"] == "success"
    assert [a["name"] for a in body["data"]] == ["demo-origin", "demo-live"]


def test_credentials_from_environment(demo: LiveServer) -> None:
    env = {
        "STREAMPANEL_URL": demo.api_url,
        "STREAMPANEL_CDN": str(DEMO_CDN),
        "STREAMPANEL_API_KEY": DEMO_API_KEY,
        "STREAMPANEL_SECRET": DEMO_SECRET,
    }
    result = CliRunner().invoke(app, ["call", "video.getapps"], env=env)
    assert result.exit_code == 0, result.output


def test_credentials_from_config_file(demo: LiveServer, tmp_path: Path) -> None:
    config = tmp_path / "client.toml"
    config.write_text(
        f'[client]\nurl = "{demo.api_url}"\ncdn = {DEMO_CDN}\n'
        f'api_key = "{DEMO_API_KEY}"\nsecret = "{DEMO_SECRET}"\n'
    )
    result = CliRunner().invoke(app, ["call", "video.getapps", "--config", str(config)])
    assert result.exit_code == 0, result.output


def test_failure_is_one_line_with_code(demo: LiveServer) -> None:
    result = CliRunner().invoke(app, ["call", "video.getapps", *flags(demo, "0" * 64)])
    assert result.exit_code == 1
    assert "401 Authentication failed" in result.output
    assert "Traceback" not in result.output


def test_missing_credentials_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["call", "video.getapps", "--config", str(tmp_path / "none.toml")],
        env={"STREAMPANEL_CDN": "", "STREAMPANEL_API_KEY": "", "STREAMPANEL_SECRET": ""},
    )
    assert result.exit_code == 1
    assert "missing credentials" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app=demo-origin", ("app", "demo-origin")),
        ("limit=25", ("limit", 25)),
        ('app=[1,"x"]', ("app", [1, "x"])),
        ("cpu=", ("cpu", "")),
        ("starttime=2024-03-19", ("starttime", "2024-03-19")),
    ],
)
def test_param_parsing(text: str, expected: tuple) -> None:
    from streampanel.cli.call import parse_param

    assert parse_param(text) == expected

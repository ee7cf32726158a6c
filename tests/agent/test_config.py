"""The agent's configuration file: what it requires, what it refuses, and clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from streampanel.agent.config import ConfigError, load_config

BASE = """
central_url = "{url}"
server = "EDGE1"
token_file = "/etc/streampanel/agent.token"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_a_full_configuration(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            BASE.format(url="https://panel.example.net/")
            + 'ca_file = "/etc/ca.pem"\n[[access_logs]]\npath = "/var/log/a.log"\n'
            '[[hls_logs]]\npath = "/var/log/a.log"\nformat = "nginx-json"\n'
            '[[nginx_rtmp]]\nurl = "http://127.0.0.1:8081/stat"\n'
            '[disk]\nroots = ["/srv/sestore1"]\n',
        )
    )
    assert config.base_url == "https://panel.example.net"
    assert config.access_logs[0].format == "nginx-combined"
    assert config.hls_logs[0].format == "nginx-json"
    assert config.disk.roots == [Path("/srv/sestore1")]
    assert config.block_bytes == 24 << 20


def test_plain_http_only_on_loopback(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE.format(url="http://127.0.0.1:8080")))
    with pytest.raises(ConfigError, match=r"central_url: .*must be https://"):
        load_config(write(tmp_path, BASE.format(url="http://panel.example.net")))


def test_mistakes_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"access_logs\.0\.format"):
        load_config(
            write(
                tmp_path,
                BASE.format(url="https://c") + '[[access_logs]]\npath = "/x"\nformat = "apache"\n',
            )
        )
    with pytest.raises(ConfigError, match="servre: Extra inputs are not permitted"):
        load_config(write(tmp_path, BASE.format(url="https://c") + 'servre = "typo"\n'))


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMPANEL_AGENT_SERVER", "EDGE9")
    assert load_config(write(tmp_path, BASE.format(url="https://c"))).server == "EDGE9"

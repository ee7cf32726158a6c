"""The agent's configuration: one small TOML file, default ``/etc/streampanel/agent.toml``.

    central_url = "https://panel.example.net"
    server = "EDGE1"
    token_file = "/etc/streampanel/agent.token"
    ca_file = "/etc/streampanel/ca.pem"        # optional: a private CA for the centre
    state_dir = "/var/lib/streampanel-agent"
    metrics_port = 9310                        # optional: Prometheus metrics on 127.0.0.1

    [[access_logs]]
    path = "/var/log/nginx/access.log"
    format = "nginx-combined"

    [[hls_logs]]
    path = "/var/log/nginx/access.log"
    format = "nginx-combined"

    [[nginx_rtmp]]
    url = "http://127.0.0.1:8081/stat"

    [disk]
    roots = ["/srv/sestore1", "/srv/sestore2"]

Environment variables ``STREAMPANEL_AGENT_<FIELD>`` override the file (the way the server's
settings work).  The token is read from its file, never from the configuration itself, so
the file can be world-readable and the token not.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG = Path("/etc/streampanel/agent.toml")
LogFormat = Literal["nginx-combined", "nginx-json", "wowza"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccessLog(_Section):
    """An access log whose traffic goes into the centre's usage totals, exactly once."""

    path: Path
    format: LogFormat = "nginx-combined"


class HlsLog(_Section):
    """An access log whose HLS requests give live viewer counts (distinct clients per stream
    in a sliding window)."""

    path: Path
    format: Literal["nginx-combined", "nginx-json"] = "nginx-combined"
    window: int = Field(default=60, ge=5, le=3600)
    step: int = Field(default=60, ge=5, le=3600)
    vhost: str = "_defaultVHost_"
    path_pattern: str | None = None


class NginxRtmp(_Section):
    """nginx-rtmp's ``/stat`` page, polled for live viewers."""

    url: HttpUrl
    interval: float = Field(default=60.0, ge=1.0)
    vhost: str = "_defaultVHost_"


class Disk(_Section):
    """Storage roots (``sestoreN`` directories of storage users' trees), measured per day."""

    roots: list[Path] = Field(default_factory=list)
    interval: float = Field(default=3600.0, ge=10.0)


class AgentConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STREAMPANEL_AGENT_", env_nested_delimiter="__", extra="forbid"
    )

    # The centre's base URL (https:// in production; http:// only for a centre on loopback).
    central_url: HttpUrl
    # This edge's server name, as the centre knows it.
    server: str = Field(min_length=1, max_length=200)
    # The file holding the server's ingest token (``streampanel admin server ingest-token``).
    token_file: Path
    # A CA bundle to verify the centre's certificate with (default: the system's).
    ca_file: Path | None = None
    # Where the agent keeps its instance id, its spool and its status.
    state_dir: Path = Path("/var/lib/streampanel-agent")
    # Prometheus metrics on metrics_host:metrics_port (0: none).
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # The application is the first group of this pattern on the URL path (as for ingest).
    app_pattern: str = r"^/([^/?#]+)"
    # Read size per block (a block is the unit of exactly-once).
    block_mib: float = Field(default=24.0, gt=0, le=256)
    # How often a followed log is looked at for new lines.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Seconds to wait for the centre's answer to one request.
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Longest wait between retries while the centre is unreachable.
    backoff_max_seconds: float = Field(default=60.0, ge=1)
    # Testing only: the agent kills itself (SIGKILL) at this named point (see failpoints).
    failpoint: str = ""

    access_logs: list[AccessLog] = Field(default_factory=list)
    hls_logs: list[HlsLog] = Field(default_factory=list)
    nginx_rtmp: list[NginxRtmp] = Field(default_factory=list)
    disk: Disk = Disk()

    @field_validator("central_url")
    @classmethod
    def _secure(cls, url: HttpUrl) -> HttpUrl:
        if url.scheme != "https" and url.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("must be https:// (plain http:// only for a centre on loopback)")
        return url

    @property
    def base_url(self) -> str:
        return str(self.central_url).rstrip("/")

    @property
    def block_bytes(self) -> int:
        return max(4096, int(self.block_mib * (1 << 20)))

    def read_token(self) -> str:
        """The token, read again each time it is needed (an operator may replace the file)."""
        return self.token_file.read_text(encoding="utf-8").strip()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values come in as init values (load_config); the environment wins.
        return (env_settings, init_settings)


class ConfigError(ValueError):
    """The configuration file is missing or invalid (the message says where)."""


def load_config(path: Path) -> AgentConfig:
    try:
        values: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return AgentConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None

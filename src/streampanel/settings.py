"""The one settings object, built from environment variables and an optional TOML file.

Environment variables are ``STREAMPANEL_<FIELD>`` (nested: ``STREAMPANEL_A__B``); the TOML
file is named by ``STREAMPANEL_CONFIG`` or passed explicitly.  Nothing else in the package
reads ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "streampanel"


class CollectorSettings(BaseModel):
    """One live-viewer collector run by the embedded server."""

    server: str
    nginx_rtmp: str
    interval: float = 60.0
    vhost: str = "_defaultVHost_"


class HlsCollectorSettings(BaseModel):
    """One access-log follower deriving HLS viewers, run by the embedded server."""

    server: str
    log: Path
    # nginx-combined or nginx-json (streampanel.ingest.format_names; the collector reads the
    # earlier "combined" and "json" as those, with a deprecation line in the log).
    format: str = "nginx-combined"
    window: int = 60
    interval: int = 60
    vhost: str = "_defaultVHost_"
    path_pattern: str | None = None


class AccessLogSettings(BaseModel):
    """One access log the embedded server follows into the usage totals (like ``tail -F``)."""

    server: str
    path: Path
    format: str = "nginx-combined"  # or nginx-json, wowza


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STREAMPANEL_", env_nested_delimiter="__", extra="ignore"
    )

    # Where the SQLite file, the master key file and the demo data live.
    data_dir: Path = Field(default_factory=_default_data_dir)
    # SQLAlchemy URL; empty means the embedded SQLite file in data_dir.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    # Master key for secrets at rest (urlsafe base64 of 32 bytes), or a 0600 file holding
    # it; neither means data_dir/master.key, created on first run on a SQLite store only
    # (every process of a PostgreSQL store must be given the same key).
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    demo: bool = False
    log_level: str = "info"
    # Where a process serves Prometheus metrics: 0 means nowhere of its own.  ``serve`` then
    # answers /metrics on the API's address; with a port, /metrics moves to
    # metrics_host:metrics_port and the API's address no longer answers it.  The worker,
    # collectors and ingester serve metrics only on a port of their own.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Threads an API process runs store work in (every request on PostgreSQL, non-inline
    # commands on SQLite), each keeping a store connection.  Python runs one thread at a
    # time: more threads only overlap waits for the store, and past a few they cost more in
    # handing the interpreter over than they overlap (bench/soak.py on two cores: 2 threads
    # ran the PostgreSQL mix ~1.3x as fast as 4, 4 ~1.25x as fast as 16).  Raise it for a
    # store far away, where each request waits longer.
    api_threads: int = 2
    # Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed
    # (comma-separated IPs or networks, uvicorn's forwarded_allow_ips); empty believes none,
    # so a client cannot choose the address it is logged and rate-limited under.
    forwarded_allow_ips: str = ""

    # Schema: whether this process may bring the schema to its own revision at start.  Unset
    # means yes on SQLite (one machine; an exclusive transaction serialises it) and in demo
    # mode, no on PostgreSQL, where `streampanel migrate` is the one step that runs DDL.  A
    # process that does not migrate waits up to schema_wait_seconds for the schema to reach
    # its revision.
    migrate_on_start: bool | None = None
    schema_wait_seconds: float = 60.0

    # Protocol
    timestamp_window: int = 300
    max_body_bytes: int = 1024 * 1024
    # Largest request body of an edge agent: a block's totals, a few kilobytes for a 24 MiB
    # block of an ordinary log; the agent splits a block whose body would pass 2 MiB.  Within
    # the shipped TLS proxy's body limit (deploy/nginx/streampanel-api.conf).
    intake_max_body_bytes: int = 3 * 1024 * 1024
    # Per API key token bucket: sustained requests per second and burst size (0 disables).
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    # How long an API key lookup is cached per process: a revoked key stops working within it.
    key_cache_seconds: float = 5.0
    # How long an account's application list is cached per process: an application added by
    # another process (streampanel admin) shows in answers within it.  0 disables the cache.
    application_cache_seconds: float = 2.0

    # Storage: directories named sestoreN, each holding <storage user>/... trees.
    storage_roots: list[Path] = Field(default_factory=list)

    # Ingestion: regex whose first group is the application name, applied to the URL path.
    ingest_app_pattern: str = r"^/([^/?#]+)"
    # Access logs the embedded server ingests continuously, exactly once.
    access_logs: list[AccessLogSettings] = Field(default_factory=list)

    # Live viewers
    viewer_retention_days: int = 14
    collectors: list[CollectorSettings] = Field(default_factory=list)
    hls_collectors: list[HlsCollectorSettings] = Field(default_factory=list)

    # Viewer tickets (sevu.*, docs/tickets.md).  A running playback re-reads its ticket at
    # most every ticket_cache_seconds, so a revoked ticket stops it within that; only the
    # streaming servers in ticket_trusted_servers may ask the decision routes (they report
    # the viewer's address); attempts are kept ticket_attempt_retention_days, and tickets
    # that expired longer ago than that are deleted.
    ticket_cache_seconds: float = 2.0
    ticket_trusted_servers: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    ticket_attempt_retention_days: int = 30

    # Upload workers and callbacks
    worker_lease_seconds: float = 60.0
    worker_max_attempts: int = 8
    callback_allow_private: bool = False
    # Uploads (streampanel.uploads): retry backoff, transfer sizes, remote endpoints.
    worker_poll_interval: float = 1.0
    worker_backoff_base: float = 2.0
    worker_backoff_max: float = 300.0
    s3_part_concurrency: int = 10
    youtube_chunk_bytes: int = 8 * 1024 * 1024
    youtube_api_root: str = "https://youtube.googleapis.com/"
    youtube_token_uri: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    callback_timeout: float = 10.0
    # Demo: an S3-compatible endpoint (e.g. a local moto_server) for the demo account.
    demo_s3_endpoint: str = ""
    demo_s3_bucket: str = "demo-uploads"

    # Whether ``serve`` runs the upload worker, collectors, followers and purge beside the
    # API; off for API-only processes of a scale-out deployment.
    background_services: bool = True

    # Periodic jobs of the embedded server (seconds)
    disk_collect_interval: float = 86400.0
    purge_interval: float = 3600.0

    # Control panel (/panel): how long a sign-in lasts before the secret is asked again.
    panel_session_seconds: int = 8 * 3600

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("STREAMPANEL_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'streampanel.db'}"

    @property
    def migrates_on_start(self) -> bool:
        if self.migrate_on_start is not None:
            return self.migrate_on_start
        return self.demo or self.resolved_database_url.startswith("sqlite")

"""Helpers of the ingest tests: an ingester on the test store, and reading totals back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from streampanel.ingest.pipeline import Ingester
from streampanel.runtime import Runtime
from streampanel.store.tables import applications, servers
from streampanel.store.tables.usage import usage_daily, usage_unattributed

FIXTURES = Path(__file__).parent / "fixtures"
APP_PATTERN = r"^/([^/?#]+)"


def ingester(
    runtime: Runtime,
    tmp_path: Path,
    server: str = "EDGE",
    fmt: str = "nginx-combined",
    block_bytes: int = 1 << 20,
) -> Ingester:
    return Ingester(
        runtime.engine,
        server=server,
        fmt=fmt,
        app_pattern=APP_PATTERN,
        rejects_dir=tmp_path / "rejects",
        block_bytes=block_bytes,
    )


def totals(runtime: Runtime, server: str | None = None) -> dict[tuple[str, date], tuple[int, int]]:
    """``(app name, day) -> (bytes, requests)`` (of one server, or summed over all)."""
    query = (
        select(
            applications.c.name,
            usage_daily.c.day,
            usage_daily.c.bytes,
            usage_daily.c.requests,
            servers.c.name.label("server"),
        )
        .join(applications, applications.c.id == usage_daily.c.application_id)
        .join(servers, servers.c.id == usage_daily.c.server_id)
    )
    found: dict[tuple[str, date], tuple[int, int]] = {}
    with runtime.engine.connect() as conn:
        for row in conn.execute(query):
            if server is None or row.server == server:
                sent, requests = found.get((row.name, row.day), (0, 0))
                found[(row.name, row.day)] = (sent + row.bytes, requests + row.requests)
    return found


def unattributed(runtime: Runtime) -> dict[tuple[str, date], tuple[int, int]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(usage_unattributed)).mappings().all()
    return {(r["app"], r["day"]): (r["bytes"], r["requests"]) for r in rows}

"""Demo usage: 35 days of generated access logs per demo server, run through the real
ingester, and a storage tree walked by the real disk collector day by day.

Idempotent: a day's log file is generated once and ingestion is exactly-once, so running
the demo again adds nothing (a later day adds that day's files).  Disk history is built only
when the demo users have none; today's figure is measured every run (and replaced).
When no storage roots are configured, the demo tree becomes the storage roots, so the
embedded server's daily collector keeps measuring it.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from streampanel.demo import DEMO_APPLICATIONS, DEMO_SERVERS, DEMO_STORAGE_USERS, populator
from streampanel.disk import collect
from streampanel.ingest.pipeline import Ingester
from streampanel.ingest.synth import hls_lines, write_log
from streampanel.runtime import Runtime
from streampanel.store.accounts import utcnow
from streampanel.store.tables import storage_users
from streampanel.store.tables.usage import disk_usage

DAYS = 35
# Lines per server and day, and how each server weighs the demo applications.
LINES_PER_DAY = {"HML": 3000, "FRA": 2000, "NYC": 1200}
WEIGHTS = {
    "HML": [5.0, 3.0, 2.0, 0.5],
    "FRA": [3.0, 1.0, 4.0, 0.3],
    "NYC": [6.0, 2.0, 0.0001, 0.0001],
}


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def _generate_logs(base: Path, today: date, now: datetime) -> dict[str, list[Path]]:
    logs: dict[str, list[Path]] = {}
    for server in DEMO_SERVERS:
        directory = base / "logs" / server
        directory.mkdir(parents=True, exist_ok=True)
        for back in range(DAYS - 1, -1, -1):
            day = today - timedelta(days=back)
            path = directory / f"access-{day.isoformat()}.log"
            if not path.exists():
                start = datetime.combine(day, time())
                seconds = 86400.0 if day < today else max(60.0, (now - start).total_seconds())
                count = int(LINES_PER_DAY[server] * seconds / 86400) + 10
                # demo-events only on weekends: the other days are zero rows.
                weights = list(WEIGHTS[server])
                if day.weekday() < 5:
                    weights[3] = 0.0
                lines = hls_lines(
                    start=start,
                    seconds=seconds,
                    count=count,
                    apps=list(DEMO_APPLICATIONS),
                    weights=weights,
                    seed=_seed(server, day),
                    unknown_app_every=997,
                    garbage_every=1999,
                )
                partial = path.with_suffix(".tmp")
                write_log(str(partial), lines)
                os.replace(partial, path)
            logs.setdefault(server, []).append(path)
    return logs


def _storage_tree(root: Path, day: date, index: int) -> None:
    """Files a storage user added on ``day`` (sparse: sizes without using the disk)."""
    for user_index, user in enumerate(DEMO_STORAGE_USERS):
        store = root / f"sestore{1 + (index + user_index) % 2}" / user / "videos"
        store.mkdir(parents=True, exist_ok=True)
        path = store / f"{day.isoformat()}.mp4"
        if not path.exists():
            size = (40 + _seed(user, day) % 200) * 1024 * 1024 // (user_index + 1)
            with path.open("wb") as handle:
                handle.truncate(size)


@populator
def populate_usage(runtime: Runtime) -> None:
    """usage: 35 days of access logs through the ingester, a storage tree through the disk
    collector"""
    settings = runtime.settings
    base = settings.data_dir / "demo"
    now = utcnow()
    today = now.date()
    for server, paths in _generate_logs(base, today, now).items():
        ingester = Ingester(
            runtime.engine,
            server=server,
            fmt="nginx-combined",
            app_pattern=settings.ingest_app_pattern,
            rejects_dir=settings.data_dir / "rejects",
        )
        for path in paths:
            ingester.ingest(str(path))

    storage = base / "storage"
    roots = [storage / "sestore1", storage / "sestore2"]
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
    if not settings.storage_roots:
        settings.storage_roots = roots
    with runtime.engine.connect() as conn:
        has_history = conn.execute(
            select(disk_usage.c.day)
            .join(storage_users, storage_users.c.id == disk_usage.c.storage_user_id)
            .where(storage_users.c.name.in_(DEMO_STORAGE_USERS))
            .limit(1)
        ).first()
    first = today - timedelta(days=DAYS - 1)
    for index in range(DAYS):
        day = first + timedelta(days=index)
        _storage_tree(storage, day, index)
        if not has_history and day < today:
            collect(runtime.engine, roots, day=day, now=datetime.combine(day, time(23, 0)))
    collect(runtime.engine, roots, now=now)

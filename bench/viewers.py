"""Live-viewer benchmark: viewer.livedetailed on 14 days of per-minute snapshots.

    .venv/bin/python bench/viewers.py [--store sqlite|postgresql|both] [--servers 20]
        [--streams 50] [--days 14] [--requests 300]

Fills a fresh store with per-minute snapshots of ``servers × streams`` for ``days`` days
(20 × 50 × 20160 minutes ≈ 20 million rows; loaded in bulk by the database itself), starts
a real ``streampanel serve`` process on it and measures over HTTP, with the SDK:

- live now with a wildcard (``url=stream_1*``: 11 streams on every server);
- a one-hour range of one stream (``url=stream_7``, every server: ~1220 rows);
- ``video.getapps`` as the reference (the protocol's floor: auth, signature, one tiny query),
  so each figure is also shown as a ratio to it;

then the time to purge one day (1/14 of the rows) with the real purge function.
Goal: p50 < 20 ms for both queries on SQLite and PostgreSQL.  PostgreSQL is a throwaway
cluster (Debian's postgresql) started with fsync off, or ``--postgres-url``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import bench_env, print_table, running_server, temp_dir  # noqa: E402

from streampanel.client import Client  # noqa: E402
from streampanel.runtime import open_runtime  # noqa: E402
from streampanel.settings import Settings  # noqa: E402
from streampanel.store import accounts  # noqa: E402
from streampanel.store.engine import write_transaction  # noqa: E402
from streampanel.store.tables.viewers import viewer_streams  # noqa: E402
from streampanel.viewers.purge import DAY, purge_expired  # noqa: E402

CDN = 900
APP = "bench-live"


def _load(
    settings: Settings, servers: int, streams: int, days: int
) -> tuple[int, int, int, tuple[str, str]]:
    """Fill the store; returns (first minute, last minute, snapshot rows, (key, secret))."""
    runtime = open_runtime(settings)
    end = int(time.time()) // 60 * 60
    start = end - days * DAY + 60
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, CDN, "bench")
        key, secret = accounts.create_api_key(conn, runtime.box, CDN, label="bench")
        accounts.create_application(conn, CDN, APP)
        server_ids = [
            accounts.create_server(conn, f"S{n:02d}", f"City {n}") for n in range(servers)
        ]
        conn.execute(
            insert(viewer_streams),
            [
                {
                    "server_id": sid,
                    "vhost": "_defaultVHost_",
                    "app": APP,
                    "stream": f"stream_{s}",
                    "protocol": "rtmp",
                    "last_time": end,
                    "last_viewers": s,
                    "live": True,
                }
                for sid in server_ids
                for s in range(streams)
            ],
        )
    engine = runtime.engine
    began = time.perf_counter()
    with engine.begin() as conn:
        # Load without the time index, in primary-key order, and index afterwards: the
        # fastest way for both stores to build their B-trees.
        conn.execute(text("DROP INDEX ix_viewer_snapshots_time"))
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "WITH RECURSIVE t(x) AS (SELECT :start UNION ALL SELECT x + 60 FROM t "
                    "WHERE x < :end) "
                    "INSERT INTO viewer_snapshots (stream_id, time, viewers, estimated) "
                    "SELECT s.id, t.x, (s.id * 7 + t.x / 60) % 97, 0 "
                    "FROM viewer_streams AS s CROSS JOIN t ORDER BY s.id, t.x"
                ),
                {"start": start, "end": end},
            )
        else:
            conn.execute(
                text(
                    "INSERT INTO viewer_snapshots (stream_id, time, viewers, estimated) "
                    "SELECT s.id, t.x, (s.id * 7 + t.x / 60) % 97, false "
                    "FROM viewer_streams AS s, generate_series(:start, :end, 60) AS t(x) "
                    "ORDER BY s.id, t.x"
                ),
                {"start": start, "end": end},
            )
        conn.execute(text("CREATE INDEX ix_viewer_snapshots_time ON viewer_snapshots (time)"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE viewer_snapshots"))
            conn.execute(text("ANALYZE viewer_streams"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        rows = int(conn.execute(text("SELECT count(*) FROM viewer_snapshots")).scalar() or 0)
    print(f"  loaded {rows:,} snapshot rows in {time.perf_counter() - began:.1f} s")
    runtime.close()
    return start, end, rows, (key, secret)


def _latencies(call: Callable[[], Any], requests: int) -> tuple[float, float, Any]:
    for _ in range(max(10, requests // 10)):
        result = call()
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return statistics.median(timings), p99, result


def run_store(kind: str, args: argparse.Namespace, postgres_url: str | None) -> list[list[Any]]:
    with temp_dir(f"streampanel-bench-viewers-{kind}-") as data_dir:
        env = bench_env(data_dir, postgres_url)
        # The data ends now and starts 14 days ago: a 15-day retention keeps the server's own
        # startup purge from touching it while we measure.
        env["STREAMPANEL_VIEWER_RETENTION_DAYS"] = str(args.days + 1)
        settings = Settings(
            data_dir=data_dir,
            database_url=postgres_url or "",
            master_key=env["STREAMPANEL_MASTER_KEY"],
        )
        print(
            f"\n[{kind}] loading {args.servers} servers × {args.streams} streams × "
            f"{args.days} days of minutes ..."
        )
        start, end, rows, (key, secret) = _load(settings, args.servers, args.streams, args.days)
        figures: list[list[Any]] = []
        with running_server(env) as server, Client(server.api_url, CDN, key, secret) as client:
            ref50, ref99, _ = _latencies(client.video_getapps, args.requests)
            live50, live99, live = _latencies(
                lambda: client.viewer_livedetailed(app=APP, url="stream_1*"), args.requests
            )
            range50, range99, hour = _latencies(
                lambda: client.viewer_livedetailed(
                    app=APP, url="stream_7", starttime=end - 3600, endtime=end, limit=10000
                ),
                args.requests,
            )
        wildcard = sum(1 for n in range(args.streams) if str(n).startswith("1"))
        assert len(live) == args.servers * wildcard, len(live)
        assert len(hour) == args.servers * 61, len(hour)
        engine_settings = Settings(
            data_dir=data_dir,
            database_url=postgres_url or "",
            master_key=env["STREAMPANEL_MASTER_KEY"],
        )
        runtime = open_runtime(engine_settings)
        began = time.perf_counter()
        deleted = purge_expired(runtime.engine, args.days, now=start + DAY + args.days * DAY)
        purge_s = time.perf_counter() - began
        runtime.close()
        assert deleted == args.servers * args.streams * 1440, deleted
        for name, p50, p99, n in (
            ("video.getapps (reference)", ref50, ref99, 1),
            ("live now, url=stream_1*", live50, live99, len(live)),
            ("1 h range, url=stream_7", range50, range99, len(hour)),
        ):
            figures.append([kind, name, n, f"{p50:.2f}", f"{p99:.2f}", f"{p50 / ref50:.1f}x"])
        figures.append(
            [
                kind,
                f"purge 1 day ({deleted:,} of {rows:,} rows)",
                "-",
                f"{purge_s * 1000:.0f}",
                "-",
                "-",
            ]
        )
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    figures: list[list[Any]] = []
    if args.store in ("sqlite", "both"):
        figures += run_store("sqlite", args, None)
    if args.store in ("postgresql", "both"):
        if args.postgres_url:
            figures += run_store("postgresql", args, args.postgres_url)
        else:
            from tests.support.postgres import ThrowawayPostgres

            cluster = ThrowawayPostgres()
            try:
                server_url = cluster.start()
                admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text('CREATE DATABASE "bench"'))
                admin.dispose()
                figures += run_store("postgresql", args, server_url.rsplit("/", 1)[0] + "/bench")
            finally:
                cluster.stop()
    print_table(
        "viewer.livedetailed over HTTP (ms; goal p50 < 20 ms; ratio = p50 / reference p50)",
        ["store", "query", "rows", "p50", "p99", "ratio"],
        figures,
    )


if __name__ == "__main__":
    main()

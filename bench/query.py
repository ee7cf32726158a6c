"""``video.servers`` latency over real HTTP on a large store, SQLite and PostgreSQL.

    .venv/bin/python bench/query.py [--days 400] [--servers 50] [--apps 200] [--requests 300]

Fills a store with daily totals for every (day, server, application) — 400 x 50 x 200 =
4,000,000 rows by default — starts ``streampanel serve`` on it, and times signed
``video.servers`` requests for a 5-application array over 30 days (a random period each
time) through the SDK, one at a time.  The reference is ``video.getapps`` on the same
server (the protocol's floor: auth, signature, envelope).  Prints p50/p99 of both and the
ratio.  Goal: video.servers p50 < 20 ms on both stores.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import bench_env, print_table, running_server, temp_dir

from streampanel.client import Client

FIRST_DAY = date(2023, 1, 1)


def fill(env: dict[str, str], days: int, server_count: int, app_count: int) -> tuple[str, str]:
    """Account 1 with the applications, the servers, and every day's totals."""
    os.environ.update(env)
    from streampanel.runtime import open_runtime
    from streampanel.settings import Settings
    from streampanel.store import accounts
    from streampanel.store.engine import write_transaction

    # This process is the deployment's `streampanel migrate` step.
    runtime = open_runtime(Settings(migrate_on_start=True))
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, 1, "bench")
        key, secret = accounts.create_api_key(conn, runtime.box, 1)
        app_ids = [accounts.create_application(conn, 1, f"app{i:03d}") for i in range(app_count)]
        server_ids = [accounts.create_server(conn, f"S{i:02d}") for i in range(server_count)]
    rng = random.Random(1)
    started = time.perf_counter()
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if runtime.engine.dialect.name == "postgresql":
            with cursor.copy(  # type: ignore[attr-defined]
                "COPY usage_daily (application_id, day, server_id, bytes, requests) FROM STDIN"
            ) as copy:
                for app in app_ids:
                    for offset in range(days):
                        day = FIRST_DAY + timedelta(days=offset)
                        for server in server_ids:
                            copy.write_row((app, day, server, rng.randrange(10**9), 1000))
        else:
            cursor.execute("BEGIN")
            for app in app_ids:
                cursor.executemany(
                    "INSERT INTO usage_daily VALUES (?, ?, ?, ?, ?)",
                    (
                        (
                            app,
                            (FIRST_DAY + timedelta(days=o)).isoformat(),
                            s,
                            rng.randrange(10**9),
                            1000,
                        )
                        for o in range(days)
                        for s in server_ids
                    ),
                )
            cursor.execute("COMMIT")
        if runtime.engine.dialect.name == "postgresql":
            cursor.execute("ANALYZE usage_daily")
        else:
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    rows = days * server_count * app_count
    print(f"  filled {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    runtime.close()
    return key, secret


def latencies(call: object, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return times


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_store(name: str, env: dict[str, str], options: argparse.Namespace) -> list[object]:
    print(f"{name}:", flush=True)
    # One client measuring latency back to back: the per-key rate limit is not the subject.
    env = {
        **env,
        "STREAMPANEL_RATE_LIMIT_PER_SECOND": "100000",
        "STREAMPANEL_RATE_LIMIT_BURST": "100000",
    }
    key, secret = fill(env, options.days, options.servers, options.apps)
    rng = random.Random(2)
    with running_server(env) as server, Client(server.api_url, 1, key, secret) as client:

        def servers_call() -> None:
            apps = rng.sample(range(options.apps), 5)
            start = FIRST_DAY + timedelta(days=rng.randrange(options.days - 30))
            rows = client.video_servers([f"app{a:03d}" for a in apps], start.isoformat())
            assert len(rows) == 30 * options.servers, len(rows)

        for _ in range(20):  # warm up caches and connections
            servers_call()
            client.video_getapps()
        servers_ms = latencies(servers_call, options.requests)
        getapps_ms = latencies(client.video_getapps, options.requests)
    return [
        name,
        f"{p(servers_ms, 0.5):.1f}",
        f"{p(servers_ms, 0.99):.1f}",
        f"{p(getapps_ms, 0.5):.1f}",
        f"{p(getapps_ms, 0.99):.1f}",
        f"{statistics.median(servers_ms) / statistics.median(getapps_ms):.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,postgresql")
    options = parser.parse_args()
    rows: list[list[object]] = []
    for store in options.stores.split(","):
        with temp_dir(f"streampanel-bench-query-{store}-") as data:
            if store == "sqlite":
                rows.append(bench_store("SQLite", bench_env(data), options))
                continue
            from tests.support.postgres import ThrowawayPostgres

            cluster = ThrowawayPostgres()
            try:
                url = cluster.start()
                rows.append(bench_store("PostgreSQL", bench_env(data, url), options))
            finally:
                cluster.stop()
    print_table(
        f"video.servers, 5 applications x 30 days over HTTP "
        f"({options.days} days x {options.servers} servers x {options.apps} apps stored)",
        [
            "store",
            "servers p50 ms",
            "servers p99 ms",
            "getapps p50 ms",
            "getapps p99 ms",
            "p50 ratio",
        ],
        rows,
    )
    print("goal: video.servers p50 < 20 ms on both stores")


if __name__ == "__main__":
    main()

"""CPU per read command on PostgreSQL and on SQLite: the API process's, and the store's.

    .venv/bin/python bench/read_cost.py [--calls 2000] [--rounds 3]

Each request of bench/soak.py's read mix runs ``--calls`` times through the dispatcher's
``answer``, awaited on an event loop as the server does (each step where the server runs
it: on PostgreSQL in the API's own threads; no HTTP, so this isolates what the store path
costs), on a throwaway PostgreSQL cluster (Debian's postgresql) and on SQLite, each holding
the demo data.  For every command it prints the microseconds per call of this process's CPU
and of the PostgreSQL cluster's processes (the median of ``--rounds``), then per store
the mix's sum and two ratios:

- SQLite / PostgreSQL over all CPU: how fast PostgreSQL can run the mix next to SQLite when
  its server shares the machine's cores (bench/soak.py's set-up);
- SQLite / PostgreSQL over the API process's CPU: what PostgreSQL's path itself adds beyond
  its queries, the bound when PostgreSQL runs on a machine of its own.

Timed: run it alone (``flock /tmp/bench.lock``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

from _common import print_table, temp_dir  # noqa: E402
from soak import children, read_mix  # noqa: E402
from tests.support.postgres import ThrowawayPostgres  # noqa: E402

from streampanel.api.dispatch import Dispatcher  # noqa: E402
from streampanel.api.outcome import Outcome  # noqa: E402
from streampanel.client import Client  # noqa: E402
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET, setup_demo  # noqa: E402
from streampanel.runtime import open_runtime  # noqa: E402
from streampanel.settings import Settings  # noqa: E402

WARM_UP_CALLS = 50
TICKS = os.sysconf("SC_CLK_TCK")


def cluster_cpu(postmaster: int | None) -> float:
    """CPU seconds of the PostgreSQL server and its backends so far (0 without one)."""
    if postmaster is None:
        return 0.0
    total = 0
    for pid in [postmaster, *children(postmaster)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a backend that just ended
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


@contextmanager
def store_dispatcher(store: str) -> Iterator[tuple[Dispatcher, int | None]]:
    """A dispatcher on a fresh store of that kind with the demo data, and the PostgreSQL
    server's pid (None on SQLite)."""
    with temp_dir(f"sp-readcost-{store.lower()}-") as data_dir:
        cluster = ThrowawayPostgres() if store == "PostgreSQL" else None
        try:
            url = cluster.start() if cluster else ""
            settings = Settings(
                data_dir=data_dir,
                database_url=url,
                master_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
                migrate_on_start=True,
                rate_limit_per_second=1_000_000,  # the limiter still takes a token per call
            )
            runtime = open_runtime(settings)
            setup_demo(runtime)
            dispatcher = Dispatcher(settings, runtime.engine, runtime.box)
            postmaster = None
            if cluster:
                pid_file = cluster.dir / "data" / "postmaster.pid"
                postmaster = int(pid_file.read_text().split()[0])
            try:
                yield dispatcher, postmaster
            finally:
                dispatcher.close()
                runtime.close()
        finally:
            if cluster:
                cluster.stop()


async def measure(
    dispatcher: Dispatcher, postmaster: int | None, raw: bytes, calls: int
) -> tuple[float, float]:
    """Microseconds per call of this process's CPU and of the PostgreSQL cluster's."""

    async def run() -> None:
        answered = dispatcher.answer(raw, time.perf_counter())
        outcome = answered if isinstance(answered, Outcome) else await answered
        if outcome.body.get("status") == "error":
            raise SystemExit(f"the mix must succeed: {outcome.body}")

    for _ in range(WARM_UP_CALLS):
        await run()
    own, server = time.process_time(), cluster_cpu(postmaster)
    for _ in range(calls):
        await run()
    own, server = time.process_time() - own, cluster_cpu(postmaster) - server
    return 1e6 * own / calls, 1e6 * server / calls


async def measure_mix(
    dispatcher: Dispatcher, postmaster: int | None, bodies: list[bytes], calls: int
) -> list[tuple[float, float]]:
    return [await measure(dispatcher, postmaster, raw, calls) for raw in bodies]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    client = Client("http://unused", DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    mix = read_mix()
    labels = [f"{command} {json.dumps(params)[:44]}" for command, params in mix]
    figures: dict[str, list[tuple[float, float]]] = {}
    for store in ("PostgreSQL", "SQLite"):
        with store_dispatcher(store) as (dispatcher, postmaster):
            bodies = [client.build(c, **p).final_json.encode() for c, p in mix]
            rounds = [
                asyncio.run(measure_mix(dispatcher, postmaster, bodies, args.calls))
                for _ in range(args.rounds)
            ]
        figures[store] = [
            (
                statistics.median(r[i][0] for r in rounds),
                statistics.median(r[i][1] for r in rounds),
            )
            for i in range(len(mix))
        ]
    pg, lite = figures["PostgreSQL"], figures["SQLite"]
    rows: list[list[object]] = [
        [label, f"{p[0]:.0f}", f"{p[1]:.0f}", f"{p[0] + p[1]:.0f}", f"{s[0]:.0f}"]
        for label, p, s in zip(labels, pg, lite, strict=True)
    ]
    pg_api, pg_store = sum(p[0] for p in pg), sum(p[1] for p in pg)
    lite_total = sum(s[0] + s[1] for s in lite)
    pg_total = pg_api + pg_store
    rows.append(
        ["the mix", f"{pg_api:.0f}", f"{pg_store:.0f}", f"{pg_total:.0f}", f"{lite_total:.0f}"]
    )
    print_table(
        f"CPU per call (µs, median of {args.rounds} rounds of {args.calls} calls)",
        ["request", "PostgreSQL: API", "PostgreSQL: server", "PostgreSQL: all", "SQLite: all"],
        rows,
    )
    print()
    print(
        f"SQLite / PostgreSQL, all CPU:           {lite_total / (pg_api + pg_store):.2f}"
        "  (PostgreSQL sharing the cores: bench/soak.py's bound)"
    )
    print(
        f"SQLite / PostgreSQL, API process's CPU: {lite_total / pg_api:.2f}"
        "  (PostgreSQL on a machine of its own)"
    )


if __name__ == "__main__":
    main()

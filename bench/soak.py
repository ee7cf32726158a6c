"""Load and soak: the read-command mix over real HTTP on PostgreSQL and on SQLite, each
against the same server's ``/healthz``, in one run.

    .venv/bin/python bench/soak.py [--seconds 300] [--round-seconds 30] [--connections 32]
                                   [--workers 2]

Two servers of ``--workers`` uvicorn workers each, with the demo account and its demo data
(through the real ingestion paths): one on a throwaway PostgreSQL cluster (Debian's
postgresql), one on SQLite.  Load from wrk (Debian) replaying pre-signed requests of
video.getapps, video.servers, disk.usage, viewer.livedetailed (live now and a range) and
aws.status; every answer is checked to be a success envelope.

The run is made of rounds that alternate between the stores (a neighbour's load on a shared
machine then hits both alike): each round measures a server's ``/healthz`` ceiling for a
few seconds, then the mix for ``--round-seconds``, until each store had ``--seconds`` of the
mix.  Requests are signed afresh each round (the timestamp window is ±300 s).  Prints each
round, then per store the median round's requests/s, p50 and p99, the errors over all rounds,
each worker's RSS along the run, and the ratios: mix/healthz per store, PostgreSQL/SQLite
throughput and p99.  Goals: PostgreSQL ≥ 0.9× SQLite, each mix ≥ 0.1× its /healthz,
PostgreSQL p99 ≤ 1.2× SQLite's, no error, RSS stable.

By default everything shares the machine's cores, PostgreSQL's server included, so its
work on the queries slows the API processes beside it.  ``--api-cores N`` gives both
stores' API processes the first N cores and everything else (PostgreSQL, wrk, this script)
the others: the API then runs as it does when PostgreSQL has a host of its own, and the
PostgreSQL/SQLite ratio shows what PostgreSQL's path costs the API beyond SQLite's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

from _common import (  # noqa: E402
    BenchServer,
    bench_env,
    print_table,
    replay_script,
    rss_mb,
    run_wrk,
    running_server,
    temp_dir,
)
from tests.support.postgres import ThrowawayPostgres  # noqa: E402

from streampanel.client import Client  # noqa: E402
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET, setup_demo  # noqa: E402
from streampanel.runtime import open_runtime  # noqa: E402
from streampanel.settings import Settings  # noqa: E402

CEILING_SECONDS = 5
STORES = ("PostgreSQL", "SQLite")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def pin(pid: int, cores: set[int]) -> None:
    """``pid`` and each of its threads onto ``cores`` (threads it starts later inherit)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cores)


def split_cores(api_cores: int) -> tuple[set[int], set[int]]:
    """The cores for the API processes and the cores for everything else."""
    cores = sorted(os.sched_getaffinity(0))
    if not 0 < api_cores < len(cores):
        sys.exit(f"--api-cores must leave a core for the rest: 1 to {len(cores) - 1} here")
    return set(cores[:api_cores]), set(cores[api_cores:])


def worker_pids(server_pid: int) -> list[int]:
    # uvicorn --workers: a supervisor whose children are the workers (multiprocessing also
    # starts a resource tracker, which is not a worker: it has no listening socket).
    pids = []
    for pid in children(server_pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline:
            pids.append(pid)
    return sorted(pids)


@contextmanager
def store_server(store: str, workers: int, stack: ExitStack) -> Iterator[BenchServer]:
    """A server of ``workers`` processes on a fresh store of that kind holding the demo data."""
    url = None
    if store == "PostgreSQL":
        cluster = ThrowawayPostgres()
        stack.callback(cluster.stop)
        url = cluster.start()
    data_dir = stack.enter_context(temp_dir(f"sp-soak-{store.lower()}-"))
    env = bench_env(data_dir, url)
    # Generous limits: this measures the server, not the limiter's refusals (the limiter
    # still takes a token for every request).
    env["STREAMPANEL_RATE_LIMIT_PER_SECOND"] = "1000000"
    # This process is the deployment's `streampanel migrate` step.
    settings = Settings(
        data_dir=data_dir,
        database_url=url or "",
        master_key=env["STREAMPANEL_MASTER_KEY"],
        migrate_on_start=True,
    )
    runtime = open_runtime(settings)
    started = time.time()
    setup_demo(runtime)
    print(f"demo data on {store} in {time.time() - started:.1f} s")
    runtime.close()
    with running_server(env, "--workers", str(workers)) as server:
        with Client(server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET) as check:
            for command, params in read_mix():  # each must succeed before the run
                check.call(command, **params)
        yield server


def signed_script(server: BenchServer, path: Path, seconds: float) -> Path:
    """The mix signed for a round of ``seconds`` starting now (timestamps at its middle)."""
    middle = time.time() + seconds / 2
    client = Client(server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET, clock=lambda: middle)
    bodies = ["json=" + quote(client.build(c, **p).final_json, safe="") for c, p in read_mix()]
    client.close()
    return replay_script(path, "/stable/", bodies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=300, help="mix seconds per store")
    parser.add_argument("--round-seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--api-cores", type=int, default=0, help="cores of the API processes' own (0: shared)"
    )
    args = parser.parse_args()
    if args.round_seconds > 400:
        sys.exit("pre-signed requests are valid for ±300 s around a round's middle: at most 400 s")
    if not shutil.which("wrk"):
        sys.exit("bench/soak.py needs wrk: apt-get install wrk")
    rounds = max(1, round(args.seconds / args.round_seconds))
    api_cores: set[int] = set()
    if args.api_cores:
        api_cores, rest = split_cores(args.api_cores)
        pin(os.getpid(), rest)  # PostgreSQL and wrk, started from here, inherit it

    results: dict[str, list[tuple[dict[str, float], dict[str, float]]]] = {s: [] for s in STORES}
    rss: dict[str, dict[int, list[float]]] = {}
    with ExitStack() as stack:
        servers = {s: stack.enter_context(store_server(s, args.workers, stack)) for s in STORES}
        workers = {s: worker_pids(server.process.pid) for s, server in servers.items()}
        if api_cores:
            for store, server in servers.items():
                for pid in [server.process.pid, *workers[store]]:
                    pin(pid, api_cores)
        scratch = stack.enter_context(temp_dir("sp-soak-scripts-"))
        healthz = replay_script(scratch / "healthz.lua", "/healthz", [], expect='"status":"ok"')
        for store, server in servers.items():  # warm-up: connections, caches, prepared plans
            run_wrk(server.api_url, 3, args.connections, signed_script(server, scratch / "w", 3))
            rss[store] = {pid: [rss_mb(pid)] for pid in workers[store]}
        for number in range(1, rounds + 1):
            for store, server in servers.items():
                ceiling = run_wrk(
                    f"{server.url}/healthz", CEILING_SECONDS, args.connections, healthz
                )
                script = signed_script(server, scratch / "soak.lua", args.round_seconds)
                mix = run_wrk(server.api_url, args.round_seconds, args.connections, script)
                results[store].append((ceiling, mix))
                for pid in workers[store]:
                    rss[store][pid].append(rss_mb(pid))
                print(
                    f"round {number}/{rounds} {store:<10} healthz {ceiling['rps']:7.0f} req/s   "
                    f"mix {mix['rps']:6.0f} req/s p50 {mix['p50']:6.2f} ms p99 {mix['p99']:6.2f} "
                    f"ms   ratio {mix['rps'] / ceiling['rps']:.3f}",
                    flush=True,
                )
    report(args, rounds, results, rss)


def report(
    args: argparse.Namespace,
    rounds: int,
    results: dict[str, list[tuple[dict[str, float], dict[str, float]]]],
    rss: dict[str, dict[int, list[float]]],
) -> None:
    summary: dict[str, dict[str, float]] = {}
    rows = []
    for store, runs in results.items():
        mixes = [mix for _, mix in runs]
        figures = {
            "healthz": statistics.median(c["rps"] for c, _ in runs),
            "rps": statistics.median(m["rps"] for m in mixes),
            "p50": statistics.median(m["p50"] for m in mixes),
            "p99": statistics.median(m["p99"] for m in mixes),
            "ratio": statistics.median(m["rps"] / c["rps"] for c, m in runs),
            "requests": sum(m["requests"] for m in mixes),
            "checked": sum(m["checked"] for m in mixes),
            "errors": sum(m["socket_errors"] + m["envelope_errors"] for m in mixes),
        }
        summary[store] = figures
        rows.append(
            [
                store,
                f"{figures['healthz']:.0f}",
                f"{figures['rps']:.0f}",
                f"{figures['p50']:.2f}",
                f"{figures['p99']:.2f}",
                f"{figures['ratio']:.3f}",
                int(figures["requests"]),
                f"{int(figures['errors'])} ({int(figures['checked'])} checked)",
            ]
        )
    print_table(
        f"soak: read-command mix, {args.workers} uvicorn workers per store, "
        f"{args.connections} connections, {rounds} rounds of {args.round_seconds} s per store "
        "(medians of rounds), "
        + (
            f"the API processes on {args.api_cores} core(s) of their own"
            if args.api_cores
            else "all processes sharing the cores"
        ),
        [
            "store",
            "healthz req/s",
            "mix req/s",
            "p50 ms",
            "p99 ms",
            "mix/healthz",
            "requests",
            "errors",
        ],
        rows,
    )
    print_table(
        "worker RSS (MB): after warm-up, then after each round",
        ["store", "worker pid", "start", "end", "growth", "along the run"],
        [
            [
                store,
                pid,
                f"{values[0]:.1f}",
                f"{values[-1]:.1f}",
                f"{values[-1] - values[0]:+.1f}",
                " ".join(f"{v:.0f}" for v in values),
            ]
            for store, by_pid in rss.items()
            for pid, values in by_pid.items()
        ],
    )
    pg, lite = summary["PostgreSQL"], summary["SQLite"]
    print()
    print(f"PostgreSQL / SQLite throughput (medians): {pg['rps'] / lite['rps']:.2f}  (goal >= 0.9)")
    print(f"PostgreSQL / SQLite p99 (medians):        {pg['p99'] / lite['p99']:.2f}  (goal <= 1.2)")
    for store, figures in summary.items():
        print(f"{store} mix / healthz (median round):  {figures['ratio']:.3f}  (goal >= 0.1)")
    errors = pg["errors"] + lite["errors"]
    print("errors: none" if errors == 0 else f"errors: {int(errors)}")


def read_mix() -> list[tuple[str, dict]]:
    now = int(time.time())
    start = time.strftime("%Y-%m-%d", time.gmtime(now - 20 * 86400))
    return [
        ("video.getapps", {}),
        ("video.servers", {"app": "demo-origin"}),
        ("video.servers", {"app": ["demo-origin", "demo-live", "demo-vod"], "starttime": start}),
        ("disk.usage", {"cpu": "", "starttime": start}),
        ("disk.usage", {"cpu": ["demo", "jb"], "starttime": start[:7]}),
        ("viewer.livedetailed", {"app": ["demo-live", "demo-origin"], "url": "*"}),
        (
            "viewer.livedetailed",
            {"app": "demo-live", "url": "concert*", "starttime": now - 3600, "endtime": now - 1800},
        ),
        ("aws.status", {}),
        ("aws.status", {"limit": 5, "offset": 0}),
    ]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

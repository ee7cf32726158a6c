"""Load and soak: a mix of every read command over real HTTP at 32 connections for 5 minutes
against 2 uvicorn workers on PostgreSQL.

    .venv/bin/python bench/soak.py [--seconds 300] [--connections 32] [--workers 2]

A throwaway PostgreSQL cluster (Debian's postgresql) with the demo account and its demo data
(through the real ingestion paths); load from wrk (Debian) replaying pre-signed requests of
video.getapps, video.servers, disk.usage, viewer.livedetailed (live now and a range),
aws.status and youtube.status.  Every answer is checked to be a success envelope.  Prints
requests/s, p50/p99, error count, each worker's RSS at start and end, and the ratio of
throughput to the same server's /healthz ceiling.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

from _common import (  # noqa: E402
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


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def worker_pids(server_pid: int) -> list[int]:
    # uvicorn --workers: a supervisor whose children are the workers (multiprocessing also
    # starts a resource tracker, which is not a worker: it has no listening socket).
    pids = []
    for pid in children(server_pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline:
            pids.append(pid)
    return sorted(pids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.seconds > 400:
        sys.exit("pre-signed requests are valid for ±300 s around the run's middle: at most 400 s")
    if not shutil.which("wrk"):
        sys.exit("bench/soak.py needs wrk: apt-get install wrk")

    cluster = ThrowawayPostgres()
    try:
        url = cluster.start()
        with temp_dir("sp-soak-") as data_dir:
            env = bench_env(data_dir, url)
            # Generous limits: this measures the server, not the limiter's refusals (the
            # shared PostgreSQL bucket is still taken on every request).
            env["STREAMPANEL_RATE_LIMIT_PER_SECOND"] = "1000000"
            # This process is the deployment's `streampanel migrate` step.
            settings = Settings(
                data_dir=data_dir,
                database_url=url,
                master_key=env["STREAMPANEL_MASTER_KEY"],
                migrate_on_start=True,
            )
            runtime = open_runtime(settings)
            started = time.time()
            setup_demo(runtime)
            print(f"demo data on PostgreSQL in {time.time() - started:.1f} s")
            runtime.close()
            with running_server(env, "--workers", str(args.workers)) as server:
                with Client(server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET) as check:
                    for command, params in _calls():  # each must succeed before the run
                        check.call(command, **params)
                # Timestamps in the middle of the run keep every replay inside the window.
                middle = time.time() + args.seconds / 2
                client = Client(
                    server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET, clock=lambda: middle
                )
                bodies = [
                    "json=" + quote(client.build(c, **p).final_json, safe="") for c, p in _calls()
                ]
                script = replay_script(data_dir / "soak.lua", "/stable/", bodies)
                workers = worker_pids(server.process.pid)
                rss_start = {pid: rss_mb(pid) for pid in workers}
                healthz = replay_script(
                    data_dir / "healthz.lua", "/healthz", [], expect='"status":"ok"'
                )
                ceiling = run_wrk(f"{server.url}/healthz", 10, args.connections, healthz)
                soak = run_wrk(server.api_url, args.seconds, args.connections, script)
                rss_end = {pid: rss_mb(pid) for pid in workers}
    finally:
        cluster.stop()

    print_table(
        f"soak: {len(bodies)} read requests mixed, {args.workers} uvicorn workers on "
        f"PostgreSQL, {args.connections} connections, {args.seconds} s",
        ["run", "requests", "req/s", "p50 ms", "p99 ms", "socket errors", "envelope errors"],
        [
            [
                "GET /healthz (ceiling, 10 s)",
                int(ceiling["requests"]),
                f"{ceiling['rps']:.0f}",
                f"{ceiling['p50']:.2f}",
                f"{ceiling['p99']:.2f}",
                int(ceiling["socket_errors"]),
                "-",
            ],
            [
                "read-command mix",
                int(soak["requests"]),
                f"{soak['rps']:.0f}",
                f"{soak['p50']:.2f}",
                f"{soak['p99']:.2f}",
                int(soak["socket_errors"]),
                f"{int(soak['envelope_errors'])} of {int(soak.get('checked', 0))} checked",
            ],
        ],
    )
    print_table(
        "worker RSS (MB)",
        ["worker pid", "start", "end", "growth"],
        [
            [
                pid,
                f"{rss_start[pid]:.1f}",
                f"{rss_end[pid]:.1f}",
                f"{rss_end[pid] - rss_start[pid]:+.1f}",
            ]
            for pid in workers
        ],
    )
    print(f"\nratio mix/healthz: {soak['rps'] / ceiling['rps']:.2f}")
    errors = soak["socket_errors"] + soak["envelope_errors"]
    print("errors: none" if errors == 0 else f"errors: {int(errors)}")


def _calls() -> list[tuple[str, dict]]:
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

"""Signed ``video.getapps`` over real HTTP against the same server's ``/healthz`` (the ceiling).

    .venv/bin/python bench/api.py [--seconds 10] [--connections 32] [--rounds 3]

One uvicorn process on a fresh SQLite store with the demo account; load from ``wrk`` (Debian
package; the Python fallback is slower and noisier) at 32 connections.  Prints requests/s,
p50/p99 latency of each and the ratio getapps/healthz, in alternating rounds (the median
round's ratio is the figure).  Goal: ratio >= 0.5.

For reference, each round also measures ``video.getapps`` on a second server over the same
store with the per-process application cache switched off
(``STREAMPANEL_APPLICATION_CACHE_SECONDS=0``): every request then reads the store.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _common import (
    BenchServer,
    bench_env,
    print_table,
    replay_script,
    run_wrk,
    running_server,
    temp_dir,
)

from streampanel.client import Client
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET


def seed_demo_account(env: dict[str, str]) -> None:
    """Only the demo account (no demo data): this measures the request path."""
    from streampanel.demo import seed_account
    from streampanel.runtime import open_runtime
    from streampanel.settings import Settings

    settings = Settings(
        data_dir=Path(env["STREAMPANEL_DATA_DIR"]), master_key=env["STREAMPANEL_MASTER_KEY"]
    )
    runtime = open_runtime(settings)
    seed_account(runtime)
    runtime.close()


def signed_getapps_body(server: BenchServer) -> str:
    client = Client(server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    assert client.video_getapps(), "demo applications expected"
    # Signed once: valid for the ±300 s window, longer than a round.
    body = "json=" + quote(client.build("video.getapps").final_json, safe="")
    client.close()
    check = httpx.post(
        server.api_url,
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert check.json()["status"] == "success", check.text
    return body


def measure(
    server: BenchServer,
    uncached: BenchServer,
    data_dir: Path,
    seconds: int,
    connections: int,
    rounds: int,
) -> None:
    body = signed_getapps_body(server)
    script = replay_script(data_dir / "getapps.lua", "/stable/", [body])
    healthz = replay_script(data_dir / "healthz.lua", "/healthz", [], expect='"status":"ok"')
    runs = {
        "GET /healthz (ceiling)": (f"{server.url}/healthz", healthz),
        "signed video.getapps": (server.api_url, script),
        "  same, no application cache": (uncached.api_url, script),
    }
    for url, wrk_script in runs.values():  # warm-up
        run_wrk(url, 2, connections, wrk_script)
    rows: list[list[object]] = []
    ratios: dict[str, list[float]] = {name: [] for name in list(runs)[1:]}
    checked = 0
    for round_number in range(1, rounds + 1):
        # Alternating short runs: a neighbour's load on this shared machine hits every run of
        # a round alike, and the median round is the figure.
        started = time.time()
        results = {name: run_wrk(url, seconds, connections, s) for name, (url, s) in runs.items()}
        assert time.time() - started < 290, "round longer than the signature window"
        ceiling = results["GET /healthz (ceiling)"]["rps"]
        for name, r in results.items():
            if name in ratios:
                ratios[name].append(r["rps"] / ceiling)
            checked += int(r["checked"])
            errors = int(r["non_2xx"] + r["socket_errors"] + r["envelope_errors"])
            figures = [f"{r['rps']:.0f}", f"{r['p50']:.2f}", f"{r['p99']:.2f}"]
            rows.append([round_number, name, *figures, errors])
    print_table(
        f"API throughput, 1 uvicorn process, {connections} connections, {seconds}s per run",
        ["round", "endpoint", "req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )
    print(f"answers checked: {checked} (HTTP 200 and the expected envelope)")
    for name, values in ratios.items():
        by_round = ", ".join(f"{r:.2f}" for r in values)
        print(f"ratio {name.strip()} / healthz: {statistics.median(values):.2f} ({by_round})")
    headline = statistics.median(ratios["signed video.getapps"])
    print(
        f"\nratio getapps/healthz (median round, default settings): {headline:.2f}  (goal >= 0.5)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/api.py needs wrk: apt-get install wrk")
    with temp_dir("sp-bench-api-") as data_dir:
        env = bench_env(data_dir)
        # One key at thousands of requests per second is what the limiter exists to stop:
        # lift the limit, keep the limiter in the path (its cost is measured).
        env["STREAMPANEL_RATE_LIMIT_PER_SECOND"] = "1000000000"
        seed_demo_account(env)
        # The same store behind a second server that reads the applications on every request,
        # for reference: what the per-process application cache is worth.
        uncached_env = {**env, "STREAMPANEL_APPLICATION_CACHE_SECONDS": "0"}
        with running_server(env) as server, running_server(uncached_env) as uncached:
            measure(server, uncached, data_dir, args.seconds, args.connections, args.rounds)


if __name__ == "__main__":
    main()

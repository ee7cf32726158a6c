"""Signed ``video.getapps`` over real HTTP against the same server's ``/healthz`` (the ceiling).

    .venv/bin/python bench/api.py [--seconds 10] [--connections 32] [--rounds 3]

One uvicorn process on a fresh SQLite store with the demo account; load from ``wrk`` (Debian
package; the Python fallback is slower and noisier) at 32 connections.  Prints requests/s,
p50/p99 latency of each and the ratio getapps/healthz, in alternating rounds (the median
round's ratio is the figure).  Goal: ratio >= 0.5.
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


def measure(
    server: BenchServer, data_dir: Path, seconds: int, connections: int, rounds: int
) -> None:
    client = Client(server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    assert client.video_getapps(), "demo applications expected"
    # Signed once: valid for the ±300 s window, longer than the run.
    body = "json=" + quote(client.build("video.getapps").final_json, safe="")
    client.close()
    check = httpx.post(
        server.api_url,
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert check.json()["status"] == "success", check.text
    script = replay_script(data_dir / "getapps.lua", "/stable/", [body])
    healthz = replay_script(data_dir / "healthz.lua", "/healthz", [], expect='"status":"ok"')
    run_wrk(f"{server.url}/healthz", 2, connections, healthz)  # warm-up
    run_wrk(server.api_url, 2, connections, script)
    rows, ratios = [], []
    checked = {"healthz": 0, "getapps": 0}
    for round_number in range(1, rounds + 1):
        # Alternating short runs: a neighbour's load on this shared machine hits both sides
        # of a round alike, and the median round is the figure.
        started = time.time()
        ceiling = run_wrk(f"{server.url}/healthz", seconds, connections, healthz)
        getapps = run_wrk(server.api_url, seconds, connections, script)
        assert time.time() - started < 290, "round longer than the signature window"
        ratios.append(getapps["rps"] / ceiling["rps"])
        checked["healthz"] += int(ceiling["checked"])
        checked["getapps"] += int(getapps["checked"])
        for name, r in (("GET /healthz (ceiling)", ceiling), ("signed video.getapps", getapps)):
            errors = int(r["non_2xx"] + r["socket_errors"] + r["envelope_errors"])
            rows.append(
                [
                    round_number,
                    name,
                    f"{r['rps']:.0f}",
                    f"{r['p50']:.2f}",
                    f"{r['p99']:.2f}",
                    errors,
                ]
            )
    print_table(
        f"API throughput, 1 uvicorn process, {connections} connections, {seconds}s per run",
        ["round", "endpoint", "req/s", "p50 ms", "p99 ms", "errors"],
        rows,
    )
    print(
        f"answers checked: {checked['healthz']} healthz, "
        f"{checked['getapps']} getapps success envelopes"
    )
    print("ratios by round: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(f"\nratio getapps/healthz (median round): {statistics.median(ratios):.2f}  (goal >= 0.5)")


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
        with running_server(env) as server:
            measure(server, data_dir, args.seconds, args.connections, args.rounds)


if __name__ == "__main__":
    main()

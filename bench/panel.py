"""The panel's call path against the API's, and the docs pages, over real HTTP.

    .venv/bin/python bench/panel.py [--requests 200] [--browser]

Starts ``streampanel serve --demo`` on a fresh SQLite store and times, one request at a
time, each dashboard command through ``POST /panel/api/call`` with a session cookie and the
same command through ``POST /stable/`` with the SDK (signed).  The API is the reference: the
ratio panel/API shows what the session lookup costs instead of the signature (goal: <= 1.2).
Also times the generated docs pages (index, one command) against ``video.getapps``, and with
``--browser`` the whole dashboard in headless Chromium (sign-in to every chart drawn).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import bench_env, print_table, running_server, temp_dir

from streampanel.client import Client
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def interleaved(
    first: Callable[[], object], second: Callable[[], object], n: int
) -> tuple[list[float], list[float]]:
    """Both, alternately: a noisy machine slows both alike."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        a += timed(first, 1)
        b += timed(second, 1)
    return a, b


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] if len(samples) > 1 else samples[0]


def sign_in(url: str) -> httpx.Client:
    web = httpx.Client(base_url=url, timeout=30)
    form = web.get("/panel/login").text
    token = re.search(r'name="login_token" value="([^"]+)"', form)
    assert token
    answer = web.post(
        "/panel/login",
        data={
            "cdn": str(DEMO_CDN),
            "api_key": DEMO_API_KEY,
            "secret": DEMO_SECRET,
            "login_token": token[1],
        },
    )
    assert answer.status_code == 303, answer.text
    # The cookie as a plain header: httpx's cookie jar would cost the client more than the
    # server spends on the call.
    cookie = f"streampanel_session={web.cookies['streampanel_session']}"
    web.close()
    return httpx.Client(base_url=url, timeout=30, headers={"Cookie": cookie})


def browser_load(url: str) -> float:
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        page.goto(f"{url}/panel/login")
        page.fill("input[name=cdn]", str(DEMO_CDN))
        page.fill("input[name=api_key]", DEMO_API_KEY)
        page.fill("input[name=secret]", DEMO_SECRET)
        started = time.perf_counter()
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]", timeout=60_000)
        elapsed = (time.perf_counter() - started) * 1000
        browser.close()
    return elapsed


def run(server: Any, args: argparse.Namespace) -> None:
    client = Client(server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    web = sign_in(server.url)
    apps = [a["id"] for a in client.video_getapps()]
    start = (datetime.now(UTC).date() - timedelta(days=29)).isoformat()
    cases: list[tuple[str, dict[str, object]]] = [
        ("video.getapps", {}),
        ("video.servers", {"app": apps}),
        ("disk.usage", {"cpu": "", "starttime": start}),
        ("viewer.livedetailed", {"app": apps, "url": "*"}),
        ("aws.status", {"limit": 25}),
    ]
    rows: list[list[object]] = []
    for command, params in cases:

        def api(command: str = command, params: dict[str, object] = params) -> None:
            client.call(command, **params)

        def panel(command: str = command, params: dict[str, object] = params) -> None:
            body = web.post("/panel/api/call", json={"command": command, "params": params})
            assert body.json()["status"] == "success", body.text

        a, b = interleaved(api, panel, args.requests)
        rows.append(
            [
                command,
                f"{p(a, 50):.2f}",
                f"{p(b, 50):.2f}",
                f"{p(a, 99):.2f}",
                f"{p(b, 99):.2f}",
                f"{p(b, 50) / p(a, 50):.2f}",
            ]
        )
    print_table(
        f"panel call vs API call, ms ({args.requests} sequential requests each)",
        ["command", "API p50", "panel p50", "API p99", "panel p99", "panel/API p50"],
        rows,
    )
    reference = timed(lambda: client.video_getapps(), args.requests)
    docs_rows: list[list[object]] = []
    for page in ("/docs/", "/docs/video.servers.html"):
        samples = timed(lambda page=page: web.get(page).raise_for_status(), args.requests)
        docs_rows.append(
            [page, f"{p(samples, 50):.2f}", f"{p(samples, 50) / p(reference, 50):.2f}"]
        )
    print_table(
        f"docs pages, ms (reference: video.getapps p50 {p(reference, 50):.2f} ms)",
        ["page", "p50", "ratio to video.getapps"],
        docs_rows,
    )
    if args.browser:
        print(
            f"\ndashboard in Chromium, sign-in to every chart drawn: "
            f"{browser_load(server.url):.0f} ms"
        )
    client.close()
    web.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    with temp_dir("bench-panel-") as data:
        # Both paths share the key's rate limit (one path); off, to measure the paths.
        env = {**bench_env(data), "STREAMPANEL_RATE_LIMIT_PER_SECOND": "0"}
        with running_server(env, "--demo") as server:
            run(server, args)


if __name__ == "__main__":
    main()

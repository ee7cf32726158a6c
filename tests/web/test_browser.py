"""The pages in a real browser: headless Chromium (Debian's) driven by Playwright, against a
real ``streampanel serve --demo`` process.  Each page loads without console errors, every
number the charts and tables show equals what the API answers, and a screenshot of each
page is written to pytest's tmp dir (and to docs/screenshots/ with
STREAMPANEL_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streampanel.client import Client
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET, seed_account
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import uploads as upload_store
from streampanel.store.engine import write_transaction
from tests.conftest import MASTER_KEY, repo_root
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = repo_root() / "docs" / "screenshots"


def _upload_jobs(settings: Settings) -> None:
    """Upload requests in every state, none of them claimable by the server's worker (no
    due time, or one far ahead), so what the panel shows stays put while it is compared."""
    runtime = open_runtime(settings)
    seed_account(runtime)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    mib = 1024 * 1024
    jobs: list[dict[str, Any]] = [
        {
            "kind": "aws",
            "path": "sestore1/demo/videos/launch.mp4",
            "destination_path": "videos/launch.mp4",
            "bucket": "demo-uploads",
            "acl": "private",
            "state": "done",
            "status": 200,
            "message": "Successfully Uploaded to AWS",
            "bytes_done": 70 * mib,
            "bytes_total": 70 * mib,
            "attempts": 1,
            "created": now - timedelta(hours=2),
        },
        {
            "kind": "aws",
            "path": "sestore2/jb/videos/raw.mp4",
            "destination_path": "raw.mp4",
            "bucket": "demo-uploads",
            "state": "failed",
            "status": 403,
            "message": "Access Denied",
            "attempts": 1,
            "bytes_total": 12 * mib,
            "created": now - timedelta(hours=1),
        },
        {
            "kind": "youtube",
            "path": "sestore1/demo/videos/keynote.mp4",
            "title": "Keynote",
            "visibility": "unlisted",
            "state": "uploading",
            "message": "Uploading",
            "bytes_done": 16 * mib,
            "bytes_total": 70 * mib,
            "attempts": 1,
            "created": now - timedelta(minutes=30),
        },
        {
            "kind": "youtube",
            "path": "sestore1/demo/videos/teaser.mp4",
            "title": "Teaser",
            "visibility": "public",
            "state": "queued",
            "message": "Retrying after: connection reset",
            "bytes_total": 5 * mib,
            "attempts": 1,
            "created": now - timedelta(minutes=5),
            "due_at": now + timedelta(days=1),
        },
    ]
    with write_transaction(runtime.engine) as conn:
        for job in jobs:
            job.setdefault("due_at", None)
            job["last_updated"] = job["created"] + timedelta(minutes=1)
            upload_store.create_job(conn, {**job, "account_id": DEMO_CDN})
    runtime.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("panel-demo")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'streampanel.db'}",
        master_key=MASTER_KEY,
    )
    _upload_jobs(settings)
    env = {
        "STREAMPANEL_DATA_DIR": str(data),
        "STREAMPANEL_DATABASE_URL": settings.resolved_database_url,
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
        "STREAMPANEL_LOG_LEVEL": "warning",
    }
    server = LiveServer(env, data / "server.log", ["--demo"])
    server.start(timeout=120)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install -y chromium"
    with playwright.sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def screenshot(self, tmp_path: Path, name: str) -> None:
        path = tmp_path / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        # The committed screenshots change only when asked: a test run leaves the tree clean.
        if os.environ.get("STREAMPANEL_UPDATE_SCREENSHOTS"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    opened = Page(browser)
    yield opened
    opened.context.close()


def _sign_in(page: Page, server: LiveServer) -> None:
    page.page.goto(f"{server.url}/panel/")
    assert page.page.url.endswith("/panel/login")
    page.page.fill("input[name=cdn]", str(DEMO_CDN))
    page.page.fill("input[name=api_key]", DEMO_API_KEY)
    page.page.fill("input[name=secret]", DEMO_SECRET)
    page.page.click("button[type=submit]")
    page.page.wait_for_selector("body[data-loaded=true]", timeout=30_000)


def _points(page: Page, chart: str) -> dict[tuple[str, str], float]:
    found = page.page.eval_on_selector_all(
        f"#{chart} g.series circle",
        "els => els.map(e => [e.parentNode.dataset.series, e.dataset.x, e.dataset.value])",
    )
    return {(series, x): float(value) for series, x, value in found}


def _table(page: Page, table: str, attribute: str) -> dict[str, list[str]]:
    rows = page.page.eval_on_selector_all(
        f"#{table} tbody tr",
        f"els => els.map(e => [e.getAttribute('{attribute}'), "
        "[...e.children].map(td => td.textContent)])",
    )
    return {key: cells for key, cells in rows}


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_login_page(browser: Any, demo_server: LiveServer, tmp_path: Path) -> None:
    page = Page(browser)
    page.page.goto(f"{demo_server.url}/panel/login")
    page.page.wait_for_load_state("networkidle")
    assert page.page.title() == "Sign in — streampanel"
    page.screenshot(tmp_path, "panel-login")
    assert page.errors == []
    page.page.fill("input[name=cdn]", str(DEMO_CDN))
    page.page.fill("input[name=api_key]", DEMO_API_KEY)
    page.page.fill("input[name=secret]", "0" * 64)
    page.page.click("button[type=submit]")
    assert page.page.text_content(".error") == "Sign-in failed."
    assert DEMO_SECRET not in page.page.url and "secret" not in page.page.url
    # A failed sign-in answers 401, which the browser logs as a failed resource: expected.
    assert all("401" in error for error in page.errors), page.errors
    page.context.close()


def test_panel_shows_the_api_numbers(page: Page, demo_server: LiveServer, tmp_path: Path) -> None:
    _sign_in(page, demo_server)
    assert "secret" not in page.page.url
    page.screenshot(tmp_path, "panel")
    assert page.errors == []
    assert page.page.eval_on_selector_all(".status.failed", "els => els.length") == 0
    client = Client(demo_server.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    apps = [a["id"] for a in client.video_getapps()]

    # Traffic: every (server, day) point of both charts, and the totals table.
    traffic = client.video_servers(app=apps)
    assert traffic, "the demo has traffic"
    assert _points(page, "chart-traffic-bytes") == {
        (r["server"], r["date"]): r["bytes_total"] for r in traffic
    }
    assert _points(page, "chart-traffic-requests") == {
        (r["server"], r["date"]): r["requests_total"] for r in traffic
    }
    table = _table(page, "table-traffic", "data-server")
    assert set(table) == {r["server"] for r in traffic}
    for server, cells in table.items():
        mine = [r for r in traffic if r["server"] == server]
        assert _number(cells[1]) == sum(r["bytes_total"] for r in mine)
        assert _number(cells[2]) == sum(r["requests_total"] for r in mine)

    # Storage: every (user, day) point, and each user's latest figure.
    start = (datetime.now(UTC).date() - timedelta(days=29)).isoformat()
    disk = client.disk_usage(cpu="", starttime=start)
    assert disk, "the demo has disk measurements"
    assert _points(page, "chart-storage") == {
        (r["cpu_user"], r["summary_date"]): r["bytes_total"] for r in disk
    }
    latest = {r["cpu_user"]: r for r in disk}
    for user, cells in _table(page, "table-storage", "data-user").items():
        assert cells[1] == latest[user]["summary_date"]
        assert _number(cells[2]) == latest[user]["bytes_total"]

    # Viewers now: each stream's bar is the sum over servers of the latest snapshots.
    now_rows = client.viewer_livedetailed(app=apps, url="*")
    assert now_rows, "the demo has live viewers"
    per_stream: dict[str, int] = defaultdict(int)
    for r in now_rows:
        per_stream[f"{r['app']}/{r['stream']}"] += r["viewers"]
    bars = page.page.eval_on_selector_all(
        "#chart-viewers-now g.bar", "els => els.map(e => [e.dataset.label, e.dataset.value])"
    )
    assert {label: int(value) for label, value in bars} == per_stream
    printed = page.page.eval_on_selector_all(
        "#chart-viewers-now g.bar text.value", "els => els.map(e => e.textContent)"
    )
    assert sorted(_number(t) for t in printed) == sorted(per_stream.values())

    # Viewers over time: the points drawn are the per-minute sums over the minutes shown.
    history = _points(page, "chart-viewers-history")
    minutes = sorted({x for _, x in history})
    assert len(minutes) > 60, "three hours of per-minute points"
    rows = client.viewer_livedetailed(
        app=apps, url="*", starttime=minutes[0], endtime=minutes[-1], limit=10000
    )
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        sums[(f"{r['app']}/{r['stream']}", r["updated"])] += r["viewers"]
    assert history == sums

    # Upload jobs: each S3 and YouTube request with its state and progress.
    records = {("aws", r["id"]): r for r in client.aws_status()}
    for job_id in (3, 4):
        records[("youtube", job_id)] = client.youtube_status(job_id)
    shown = page.page.eval_on_selector_all(
        "#table-uploads tbody tr",
        "els => els.map(e => [e.dataset.kind, +e.dataset.id, e.dataset.state, "
        "+e.dataset.bytesDone, +e.dataset.bytesTotal, e.children[5].textContent])",
    )
    assert {(kind, job_id) for kind, job_id, *_ in shown} == set(records)
    for kind, job_id, state, done, total, progress in shown:
        record = records[(kind, job_id)]
        assert (state, done, total) == (
            record["state"],
            record["bytes_done"],
            record["bytes_total"],
        )
        percent = record["bytes_done"] * 100 // max(1, record["bytes_total"])
        assert progress.strip().startswith(f"{percent}%")
    assert {r["state"] for r in records.values()} == {"done", "failed", "uploading", "queued"}
    client.close()
    assert page.errors == []


def test_docs_pages(page: Page, demo_server: LiveServer, tmp_path: Path) -> None:
    page.page.goto(f"{demo_server.url}/docs/")
    assert page.page.title() == "streampanel API documentation"
    page.screenshot(tmp_path, "docs-index")
    page.page.click("a[href='video.servers.html'] >> nth=0")
    page.page.wait_for_load_state("load")
    assert page.page.text_content("h1") == "video.servers"
    page.screenshot(tmp_path, "docs-video.servers")
    assert page.errors == []

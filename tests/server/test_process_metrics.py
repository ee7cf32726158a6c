"""Metrics of every long-running process, scraped over HTTP from real processes on the test
store: the API-only server on an address of its own, the worker, the collectors and the
following ingester on ``--metrics-port``; the upload queue's depth read from the store by
each; push-route requests counted and logged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store import uploads as upload_store
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import issue_ingest_token
from tests.conftest import MakeAccount, server_env
from tests.support.postgres import free_port
from tests.support.processes import Process, metric, scrape, serve_process, wait_until
from tests.viewers.stat_server import StatServer, stat_document

pytestmark = pytest.mark.slow


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def _up(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def test_every_long_running_process_serves_metrics(
    runtime: Runtime,
    make_account: MakeAccount,
    tmp_path: Path,
    processes: list[Process],
) -> None:
    make_account(158, apps=("demo-live",))
    with write_transaction(runtime.engine) as conn:
        token = issue_ingest_token(conn, accounts.get_or_create_server(conn, "EDGE1"))
        # A queued job no process here can run (its storage root is on another machine).
        upload_store.create_job(
            conn, {"account_id": 158, "kind": "aws", "path": "sestore9/jb/a.mp4"}
        )
    access_log = tmp_path / "access.log"
    access_log.write_text("")
    storage = tmp_path / "sestore1"
    storage.mkdir()
    env = {
        **server_env(runtime.settings),
        "STREAMPANEL_LOG_LEVEL": "info",
        "STREAMPANEL_BACKGROUND_SERVICES": "false",
        "STREAMPANEL_STORAGE_ROOTS": json.dumps([str(storage)]),
    }
    ports = {name: free_port() for name in ("api", "worker", "rtmp", "hls", "ingest")}

    def start(name: str, *args: str) -> Process:
        process = Process(name, [*args, "--metrics-port", str(ports[name])], env, tmp_path / name)
        processes.append(process.start())
        return process

    api, api_url = serve_process(
        "api", env, tmp_path / "api.log", "--metrics-port", str(ports["api"])
    )
    processes.append(api.start())
    stat = StatServer([stat_document({"cam1": 3, "cam2": 1})])
    with stat.running():
        start("worker", "worker")
        start("rtmp", "collect", "viewers", "--server", "EDGE1", "--nginx-rtmp", stat.url,
              "--interval", "1")  # fmt: skip
        start("hls", "collect", "hls", "--server", "EDGE1", "--log", str(access_log),
              "--interval", "1")  # fmt: skip
        start("ingest", "ingest", "access-log", "--server", "EDGE1", "--follow",
              str(access_log))  # fmt: skip
        urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
        for name, url in urls.items():
            wait_until(lambda url=url: _up(url), 60, f"{name}'s metrics")

        # The upload queue's depth comes from the store: the same in every process, though
        # none of them runs the job (and the API process runs no worker at all).
        for name, url in urls.items():
            samples = scrape(url)
            assert metric(samples, "streampanel_upload_queue_depth") == 1.0, name
            assert metric(samples, "streampanel_store_up") == 1.0, name

        # /metrics moved to its own address: the API's no longer answers it.
        wait_until(lambda: _up(f"{api_url}/healthz"), 30, "the API")
        assert httpx.get(f"{api_url}/metrics").status_code == 404

        wait_until(
            lambda: metric(scrape(urls["rtmp"]), "streampanel_viewers",
                           server="EDGE1", protocol="rtmp") == 4.0,
            30, "the nginx-rtmp collector's viewers",
        )  # fmt: skip
        polls = metric(
            scrape(urls["rtmp"]), "streampanel_viewer_polls_total",
            server="EDGE1", protocol="rtmp", result="ok",
        )  # fmt: skip
        assert polls is not None and polls >= 1

        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        with access_log.open("a") as out:
            for i in range(7):
                out.write(
                    f'198.51.100.{i} - - [{stamp}] "GET /demo-live/cam1/seg{i}.ts HTTP/1.1" '
                    '200 1000 "-" "player"\n'
                )
        wait_until(
            lambda: metric(scrape(urls["ingest"]), "streampanel_ingest_lines_total",
                           outcome="parsed") == 7.0,
            30, "the ingester's lines",
        )  # fmt: skip
        committed = metric(
            scrape(urls["ingest"]), "streampanel_ingest_last_commit_timestamp_seconds"
        )
        assert committed is not None and abs(committed - time.time()) < 60
        wait_until(
            lambda: (metric(scrape(urls["hls"]), "streampanel_viewer_polls_total",
                            server="EDGE1", protocol="hls", result="ok") or 0) >= 1,
            30, "the HLS collector's steps",
        )  # fmt: skip
        assert metric(scrape(urls["worker"]), "streampanel_upload_jobs_running") == 0.0

    # The push route: requests counted by status, rows counted, each request logged.
    report = [{"time": int(time.time()), "vhost": "_defaultVHost_", "app": "demo-live",
               "stream": "pushed", "viewers": 5}]  # fmt: skip
    pushed = httpx.post(
        f"{api_url}/viewers/push", json=report, headers={"authorization": f"Bearer {token}"}
    )
    assert pushed.status_code == 200, pushed.text
    refused = httpx.post(
        f"{api_url}/viewers/push", json=report, headers={"authorization": "Bearer wrong"}
    )
    assert refused.status_code == 401
    samples = scrape(urls["api"])
    assert metric(samples, "streampanel_push_requests_total", status="200") == 1.0
    assert metric(samples, "streampanel_push_requests_total", status="401") == 1.0
    assert metric(samples, "streampanel_push_rows_total") == 1.0
    logged = [
        json.loads(line.split(" streampanel.access ", 1)[1])
        for line in api.output().splitlines()
        if '"/viewers/push"' in line
    ]
    assert [entry["status"] for entry in logged] == [200, 401]
    assert token not in api.output()
    assert all(p.alive for p in processes), [p.output()[-1500:] for p in processes]


def test_serve_refuses_a_metrics_port_with_several_workers(
    runtime: Runtime, tmp_path: Path
) -> None:
    env = server_env(runtime.settings)
    process, _ = serve_process(
        "api", env, tmp_path / "api.log", "--workers", "2", "--metrics-port", str(free_port())
    )
    process.start()
    assert process.process is not None
    assert process.process.wait(60) == 1
    assert "a metrics port serves one process" in process.output()

"""A fleet on PostgreSQL (two API-only processes, the upload worker, the nginx-rtmp and HLS
collectors, a following ingester, each a real process) while PostgreSQL stops under
traffic, and processes started while it is down.

What must hold: no process exits; while the store is down every route answers what it
answers when the store is up, or 503, never 500; the very first request each API process
gets after PostgreSQL is back succeeds, after an outage and after a quick restart that left
its pooled connections dead; each process's log says the outage once ("store unreachable")
and its end once ("store reachable again"); the worker, collectors and ingester carry on.

The outage lasts ``STREAMPANEL_TEST_OUTAGE_SECONDS`` (30 by default).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from streampanel.client import Client
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.tables.usage import usage_daily
from streampanel.store.tables.viewers import viewer_snapshots, viewer_streams
from streampanel.store.viewers import issue_ingest_token
from streampanel.web import session
from tests.conftest import MASTER_KEY
from tests.support.postgres import ThrowawayPostgres
from tests.support.processes import Process, serve_process, wait_until
from tests.viewers.stat_server import StatServer, stat_document

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = float(os.environ.get("STREAMPANEL_TEST_OUTAGE_SECONDS", "30"))
# What the processes' logs say, with the logger's name: other lines may mention the store.
UNREACHABLE = "streampanel.store store unreachable"
BACK = "streampanel.store store reachable again"


@dataclass
class Fleet:
    cluster: ThrowawayPostgres
    settings: Settings
    env: dict[str, str]
    tmp: Path
    api_key: str
    secret: str
    token: str
    access_log: Path
    stat: StatServer
    processes: dict[str, Process] = field(default_factory=dict)
    api_urls: dict[str, str] = field(default_factory=dict)

    def count(self, table: object) -> int:
        runtime = open_runtime(self.settings)
        try:
            with runtime.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        finally:
            runtime.close()

    def usage_requests(self) -> int:
        runtime = open_runtime(self.settings)
        try:
            with runtime.engine.connect() as conn:
                total = conn.execute(select(func.sum(usage_daily.c.requests))).scalar()
            return int(total or 0)
        finally:
            runtime.close()

    def start(self, name: str, *args: str, api: bool = False) -> Process:
        log = self.tmp / f"{name}.log"
        if api:
            process, url = serve_process(name, self.env, log)
            self.api_urls[name] = url
        else:
            process = Process(name, list(args), self.env, log)
        self.processes[name] = process.start()
        return process

    def start_all(self) -> None:
        self.start("api-1", api=True)
        self.start("api-2", api=True)
        self.start("worker", "worker")
        self.start(
            "rtmp", "collect", "viewers", "--server", "EDGE1", "--nginx-rtmp", self.stat.url,
            "--interval", "1",
        )  # fmt: skip
        self.start(
            "hls", "collect", "hls", "--server", "EDGE1", "--log", str(self.access_log),
            "--interval", "1", "--window", "5",
        )  # fmt: skip
        self.start(
            "ingest", "ingest", "access-log", "--server", "EDGE1", "--follow",
            str(self.access_log),
        )  # fmt: skip

    def log_lines(self, n: int) -> None:
        """Append HLS requests to the access log (the ingester and the HLS collector read
        it)."""
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        with self.access_log.open("a") as out:
            for i in range(n):
                out.write(
                    f'198.51.100.{i % 200} - - [{stamp}] "GET /demo-live/cam1/seg{i}.ts '
                    f'HTTP/1.1" 200 1000 "-" "player"\n'
                )

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    cluster = ThrowawayPostgres()
    url = cluster.start()
    settings = Settings(
        data_dir=tmp_path, database_url=url, master_key=MASTER_KEY, migrate_on_start=True
    )
    runtime = open_runtime(settings)  # the deployment's `streampanel migrate`
    with write_transaction(runtime.engine) as conn:
        accounts.create_account(conn, 158, "fleet")
        api_key, secret = accounts.create_api_key(conn, runtime.box, 158)
        accounts.create_application(conn, 158, "demo-live")
        token = issue_ingest_token(conn, accounts.get_or_create_server(conn, "EDGE1"))
    runtime.close()
    storage = tmp_path / "sestore1"
    storage.mkdir()
    access_log = tmp_path / "access.log"
    access_log.write_text("")
    env = {
        "STREAMPANEL_DATABASE_URL": url,
        "STREAMPANEL_DATA_DIR": str(tmp_path),
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
        "STREAMPANEL_LOG_LEVEL": "warning",
        "STREAMPANEL_BACKGROUND_SERVICES": "false",
        "STREAMPANEL_STORAGE_ROOTS": json.dumps([str(storage)]),
        "STREAMPANEL_WORKER_POLL_INTERVAL": "0.5",
        # Every request reads the store: no cached key or application hides an outage.
        "STREAMPANEL_KEY_CACHE_SECONDS": "0",
        "STREAMPANEL_APPLICATION_CACHE_SECONDS": "0",
        # The limiter stays in the path, taking batches from the store.
        "STREAMPANEL_RATE_LIMIT_PER_SECOND": "100000",
    }
    stat = StatServer([stat_document({"cam1": 3})])
    with stat.running():
        fleet = Fleet(cluster, settings, env, tmp_path, api_key, secret, token, access_log, stat)
        try:
            yield fleet
        finally:
            fleet.stop()
            cluster.stop()


# -- the routes, each with what it answers while the store is up ----------------------------


@dataclass(frozen=True)
class Route:
    name: str
    call: Callable[[httpx.Client, str], int]
    up: frozenset[int]


def _api(fleet: Fleet, command: str, **params: object) -> Callable[[httpx.Client, str], int]:
    def call(http: httpx.Client, url: str) -> int:
        client = Client(f"{url}/stable/", 158, fleet.api_key, fleet.secret)
        body = client.build(command, **params).final_json
        client.close()
        answer = http.post(f"{url}/stable/", data={"json": body})
        assert answer.status_code == 200, answer.text  # the API's failures are envelopes
        return int(answer.json()["code"])

    return call


def routes(fleet: Fleet) -> list[Route]:
    def push(http: httpx.Client, url: str) -> int:
        report = [
            {"time": int(time.time()), "vhost": "_defaultVHost_", "app": "demo-live",
             "stream": "pushed", "viewers": 2},
        ]  # fmt: skip
        headers = {"authorization": f"Bearer {fleet.token}"}
        return http.post(f"{url}/viewers/push", json=report, headers=headers).status_code

    def intake(http: httpx.Client, url: str) -> int:
        headers = {"authorization": f"Bearer {fleet.token}"}
        hello = {"agent": "fleet-agent-1", "server": "EDGE1"}
        return http.post(f"{url}/agent/v1/hello", json=hello, headers=headers).status_code

    def publish(http: httpx.Client, url: str) -> int:
        form = {"app": "demo-live", "name": "cam1", "addr": "192.0.2.7"}
        return http.post(f"{url}/sevu/rtmp/publish", data=form).status_code

    def sign_in(http: httpx.Client, url: str) -> int:
        page = http.get(f"{url}/panel/login")
        token = page.cookies.get(session.LOGIN_COOKIE, "")
        form = {"cdn": "158", "api_key": fleet.api_key, "secret": fleet.secret,
                "login_token": token}  # fmt: skip
        return http.post(f"{url}/panel/login", data=form, follow_redirects=False).status_code

    def get(path: str) -> Callable[[httpx.Client, str], int]:
        return lambda http, url: http.get(f"{url}{path}").status_code

    return [
        Route("video.getapps", _api(fleet, "video.getapps"), frozenset({200})),
        Route("video.servers", _api(fleet, "video.servers", app="demo-live"), frozenset({200})),
        Route("push", push, frozenset({200})),
        Route("intake", intake, frozenset({200})),
        Route("tickets", publish, frozenset({200, 403})),
        Route("panel", sign_in, frozenset({303})),
        Route("readyz", get("/readyz"), frozenset({200})),
        Route("docs", get("/docs/"), frozenset({200})),
        Route("healthz", get("/healthz"), frozenset({200})),
        Route("metrics", get("/metrics"), frozenset({200})),
    ]


@dataclass
class Answer:
    at: float
    route: str
    process: str
    status: int


class Traffic:
    """Every route on every API process, over and over, from one thread per process."""

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.routes = routes(fleet)
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(name, url), daemon=True)
            for name, url in fleet.api_urls.items()
        ]

    def _run(self, name: str, url: str) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                for route in self.routes:
                    try:
                        status = route.call(http, url)
                    except (httpx.HTTPError, AssertionError) as exc:
                        status = 0  # no answer, or not the API's envelope: never expected
                        self.errors.append(f"{name} {route.name}: {exc!r}")
                    self.answers.append(Answer(time.monotonic(), route.name, name, status))
                time.sleep(0.05)

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at <= end]


def unexpected(answers: list[Answer], routes_: list[Route], down: bool) -> list[Answer]:
    allowed = {r.name: r.up | ({503} if down else set()) for r in routes_}
    return [a for a in answers if a.status not in allowed[a.route]]


def first_requests_succeed(fleet: Fleet) -> None:
    for name, url in fleet.api_urls.items():
        with httpx.Client(timeout=30) as http:
            code = _api(fleet, "video.getapps")(http, url)
        assert code == 200, f"{name}: the first request after PostgreSQL came back got {code}"


def test_a_fleet_rides_out_a_postgresql_outage(fleet: Fleet) -> None:
    fleet.start_all()
    for name, url in fleet.api_urls.items():
        wait_until(lambda url=url: httpx.get(f"{url}/healthz").status_code == 200, 60, name)
    fleet.log_lines(10)
    wait_until(lambda: fleet.usage_requests() == 10, 30, "the ingester to read the log")
    wait_until(lambda: fleet.count(viewer_snapshots) > 0, 30, "the collectors to store viewers")

    with Traffic(fleet) as traffic:
        time.sleep(2)
        fleet.cluster.pause()
        down = time.monotonic()
        # Work for the ingester, the HLS collector and the worker while the store is away.
        fleet.log_lines(5)
        time.sleep(OUTAGE_SECONDS)
        back = time.monotonic()
    fleet.cluster.resume()
    first_requests_succeed(fleet)

    snapshots_then = fleet.count(viewer_snapshots)
    with Traffic(fleet) as after:
        wait_until(lambda: fleet.usage_requests() == 15, 30, "the ingester to catch up")
        wait_until(lambda: fleet.count(viewer_snapshots) > snapshots_then, 30, "new viewer rows")
        wait_until(lambda: fleet.processes["worker"].count(BACK) == 1, 30, "the worker")

    assert all(p.alive for p in fleet.processes.values()), {
        n: p.output()[-2000:] for n, p in fleet.processes.items() if not p.alive
    }
    answers = traffic.answers
    assert traffic.between(down, back), "no traffic during the outage"
    assert {a.status for a in traffic.between(down, back) if a.route == "video.getapps"} == {503}
    assert not unexpected(traffic.between(0, down - 1), traffic.routes, down=False)
    assert not traffic.errors and not after.errors, traffic.errors + after.errors
    assert not unexpected(answers, traffic.routes, down=True), "a 500 or worse while down"
    assert not unexpected(after.answers, traffic.routes, down=False)
    for name, process in fleet.processes.items():
        output = process.output()
        assert output.count(UNREACHABLE) == 1, f"{name}:\n{output[-3000:]}"
        assert output.count(BACK) == 1, f"{name}:\n{output[-3000:]}"
        assert "Traceback" not in output, f"{name}:\n{output[-3000:]}"
        # Nothing logged per request or per retry: a few lines of state changes at most
        # (the store's, readiness's, ticket decisions').
        warnings = [line for line in output.splitlines() if " WARNING " in line]
        assert len(warnings) <= 6, f"{name}:\n" + "\n".join(warnings[:20])

    # A quick restart while nothing asks: every pooled connection of the API processes dies
    # with it, and the first request on each must still succeed.
    fleet.cluster.pause()
    fleet.cluster.resume()
    first_requests_succeed(fleet)
    assert all(p.alive for p in fleet.processes.values())


def test_processes_started_while_postgresql_is_down_come_up(fleet: Fleet) -> None:
    fleet.cluster.pause()
    fleet.start_all()
    time.sleep(3)
    for name, process in fleet.processes.items():
        assert process.alive, f"{name} exited:\n{process.output()[-2000:]}"
        wait_until(lambda p=process: p.count(UNREACHABLE) == 1, 15, f"{name} to say so")
    fleet.cluster.resume()
    for name, url in fleet.api_urls.items():
        wait_until(lambda url=url: httpx.get(f"{url}/healthz").status_code == 200, 30, name)
    first_requests_succeed(fleet)
    fleet.log_lines(3)
    wait_until(lambda: fleet.usage_requests() == 3, 30, "the ingester to start reading")
    wait_until(lambda: fleet.count(viewer_streams) > 0, 30, "the collectors to store viewers")
    for name, process in fleet.processes.items():
        wait_until(lambda p=process: p.count(BACK) == 1, 30, f"{name} to come up")
        assert process.alive, f"{name}:\n{process.output()[-2000:]}"
        assert process.count(UNREACHABLE) == 1, f"{name}:\n{process.output()[-3000:]}"

"""``/readyz``: 200 only when the store answers, its schema is this code's and the master key
opens its check value; otherwise 503 with the reason.  ``/healthz`` stays liveness."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from streampanel.runtime import Runtime
from streampanel.secretbox import SecretBox
from streampanel.server.readiness import readiness_route
from streampanel.store.engine import create_store_engine
from tests.conftest import in_process_app
from tests.support.postgres import free_port


@pytest.fixture
def client_for(runtime: Runtime) -> Iterator[object]:
    clients: list[TestClient] = []

    def make(other: Runtime) -> TestClient:
        client = TestClient(in_process_app(other), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_ready_on_a_current_store_with_its_key(api: TestClient) -> None:
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    assert api.get("/healthz").status_code == 200


def test_another_master_key_is_not_ready(runtime: Runtime, client_for) -> None:
    other = Runtime(runtime.settings, runtime.engine, SecretBox(Fernet.generate_key()))
    client = client_for(other)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unready",
        "reason": "the master key differs from the one that sealed this store's secrets",
    }
    assert client.get("/healthz").status_code == 200  # alive all the same


def test_a_schema_behind_the_code_is_not_ready(
    runtime: Runtime, empty_store_url: str, client_for
) -> None:
    engine = create_store_engine(empty_store_url)
    try:
        answer = client_for(Runtime(runtime.settings, engine, runtime.box)).get("/readyz")
    finally:
        engine.dispose()
    assert answer.status_code == 503
    reason = answer.json()["reason"]
    assert reason.startswith("the store's schema is behind this release")
    assert "streampanel migrate" in reason


def test_a_store_that_does_not_answer_is_not_ready(runtime: Runtime, client_for) -> None:
    nothing_there = create_engine(f"postgresql+psycopg://sp:pw@127.0.0.1:{free_port()}/sp")
    try:
        answer = client_for(Runtime(runtime.settings, nothing_there, runtime.box)).get("/readyz")
    finally:
        nothing_there.dispose()
    assert answer.status_code == 503
    # No driver text: no host, user or password for whoever asks.
    assert answer.json() == {"status": "unready", "reason": "the store does not answer"}


def test_a_check_that_hangs_is_cut_short_and_changes_are_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    reasons: list[str | None] = [None, "schema moved", "schema moved", None]

    def check() -> str | None:
        if not reasons:
            release.wait(60)  # a store that does not answer
            return None
        return reasons.pop(0)

    app = Starlette(routes=[readiness_route(check, timeout=0.2)])
    with caplog.at_level(logging.INFO, "streampanel.readiness"), TestClient(app) as client:
        codes = [client.get("/readyz").status_code for _ in range(4)]
        hung = client.get("/readyz")
        release.set()
    assert codes == [200, 503, 503, 200]
    assert hung.status_code == 503
    assert hung.json()["reason"] == "the store did not answer within 0.2 s"
    assert [r.getMessage() for r in caplog.records] == [
        "not ready: schema moved",
        "ready again",
        "not ready: the store did not answer within 0.2 s",
    ]

"""The push route: ingest tokens, validation, storage; over real HTTP and in-process."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.testclient import TestClient

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.tables import servers
from streampanel.store.viewers import issue_ingest_token
from tests.conftest import MakeAccount, in_process_app
from tests.support.server import LiveServer
from tests.viewers.api import livedetailed


def _token(runtime: Runtime, name: str) -> str:
    with write_transaction(runtime.engine) as conn:
        return issue_ingest_token(conn, accounts.get_or_create_server(conn, name, "Paris, FR"))


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(in_process_app(runtime))


def test_push_over_real_http(
    live_api: LiveServer, runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live",))
    token = _token(runtime, "PAR")
    now = int(time.time())
    report = [
        {
            "time": now - 60,
            "vhost": "_defaultVHost_",
            "app": "demo-live",
            "stream": "cam1",
            "viewers": 5,
        },
        {
            "time": now,
            "vhost": "_defaultVHost_",
            "app": "demo-live",
            "stream": "cam1",
            "viewers": 6,
        },
        {
            "time": now,
            "vhost": "_defaultVHost_",
            "app": "demo-live",
            "stream": "cam1",
            "viewers": 2,
            "protocol": "hls",
        },
    ]
    response = httpx.post(
        f"{live_api.url}/viewers/push", json=report, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Stored 3 viewer rows"
    rows = livedetailed(runtime, creds, app="demo-live", url="cam1", now=now)
    assert [(r["server"], r["location"], r["protocol"], r["viewers"]) for r in rows] == [
        ("PAR", "Paris, FR", "hls", 2),
        ("PAR", "Paris, FR", "rtmp", 6),
    ]


def test_token_is_required_and_only_its_hash_is_stored(
    client: TestClient, runtime: Runtime
) -> None:
    token = _token(runtime, "PAR")
    with runtime.engine.connect() as conn:
        stored = conn.execute(servers.select()).first()
    assert stored is not None and token not in str(tuple(stored))
    report = [{"time": int(time.time()), "vhost": "v", "app": "a", "stream": "s", "viewers": 1}]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
        response = client.post("/viewers/push", json=report, headers=headers)
        assert response.status_code == 401
        assert response.json()["message"] == "Authentication failed"
    assert (
        client.post("/viewers/push", json=report, headers={"X-Ingest-Token": token}).status_code
        == 200
    )
    # A new token replaces the old one.
    _token(runtime, "PAR")
    assert (
        client.post("/viewers/push", json=report, headers={"X-Ingest-Token": token}).status_code
        == 401
    )


def test_complete_reports_end_streams_they_omit(
    client: TestClient, runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-live",))
    headers = {"Authorization": f"Bearer {_token(runtime, 'PAR')}"}
    now = int(time.time())
    item = {"vhost": "v", "app": "demo-live", "viewers": 3}
    client.post(
        "/viewers/push?complete=1",
        headers=headers,
        json=[{**item, "time": now - 60, "stream": "a"}, {**item, "time": now - 60, "stream": "b"}],
    )
    client.post(
        "/viewers/push?complete=1", headers=headers, json=[{**item, "time": now, "stream": "a"}]
    )
    rows = livedetailed(runtime, creds, app="demo-live", url="*", now=now)
    assert [r["stream"] for r in rows] == ["a"]
    # No stream left: an empty complete report names its protocol and time in the query.
    response = client.post(
        f"/viewers/push?complete=1&protocol=rtmp&time={now + 1}", headers=headers, json=[]
    )
    assert response.status_code == 200, response.text
    assert livedetailed(runtime, creds, app="demo-live", url="*", now=now + 1) == []
    response = client.post(
        "/viewers/push?complete=1&protocol=rtmp&time=1", headers=headers, json=[]
    )
    assert response.status_code == 400 and "query 'time'" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"not": "a list"}, "The body must be a JSON list"),
        ([1], "Invalid report item 0 'item'"),
        (
            [{"time": "soon", "vhost": "v", "app": "a", "stream": "s", "viewers": 1}],
            "Invalid report item 0 'time'",
        ),
        (
            [{"time": 1, "vhost": "v", "app": "a", "stream": "s", "viewers": 1}],
            "Invalid report item 0 'time'",
        ),
        (
            [{"time": "NOW", "app": "a", "stream": "s", "viewers": 1}],
            "Invalid report item 0 'vhost'",
        ),
        (
            [{"time": "NOW", "vhost": "v", "app": "a", "stream": "s", "viewers": -1}],
            "Invalid report item 0 'viewers'",
        ),
        (
            [{"time": "NOW", "vhost": "v", "app": "a", "stream": "s", "viewers": True}],
            "Invalid report item 0 'viewers'",
        ),
    ],
)
def test_invalid_reports_are_400(
    client: TestClient, runtime: Runtime, body: object, message: str
) -> None:
    headers = {"Authorization": f"Bearer {_token(runtime, 'PAR')}"}
    if (
        isinstance(body, list)
        and body
        and isinstance(body[0], dict)
        and body[0].get("time") == "NOW"
    ):
        body[0]["time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    response = client.post("/viewers/push", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["status"] == "failure"
    assert response.json()["message"].startswith(message)
    not_json = client.post("/viewers/push", content=b"{", headers=headers)
    assert not_json.status_code == 400

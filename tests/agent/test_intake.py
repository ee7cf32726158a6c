"""The agents' intake routes in-process, on both stores: tokens, leases, exactly-once block
commits (committed, duplicate, offset conflict), refusals with their statuses, disk figures
summed over servers."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from streampanel.intake import wire
from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.tables.usage import disk_usage, ingest_sources
from streampanel.store.viewers import issue_ingest_token
from tests.conftest import MakeAccount, in_process_app
from tests.ingest.helpers import totals, unattributed

AGENT = "a" * 32
OTHER_AGENT = "b" * 32
DAY = date(2024, 3, 19)


def token_for(runtime: Runtime, server: str) -> str:
    with write_transaction(runtime.engine) as conn:
        return issue_ingest_token(conn, accounts.get_or_create_server(conn, server))


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(in_process_app(runtime), raise_server_exceptions=False)


def post(
    client: TestClient, path: str, token: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    answer = response.json()
    assert answer["code"] == response.status_code
    assert set(answer) >= {"status", "code", "message", "handle_time"}
    return response.status_code, answer


def hello(client: TestClient, token: str, server: str, agent: str = AGENT) -> tuple[int, dict]:
    return post(client, wire.HELLO, token, {"agent": agent, "server": server, "host": "edge"})


def source(client: TestClient, token: str, head: bytes, agent: str = AGENT) -> dict[str, Any]:
    fingerprint = hashlib.sha256(head).hexdigest()
    status, answer = post(
        client,
        wire.SOURCES,
        token,
        {
            "agent": agent,
            "format": "nginx-combined",
            "path": "/var/log/nginx/access.log",
            "head_len": len(head),
            "fingerprints": {str(len(head)): fingerprint},
        },
    )
    assert status == 200, answer
    return answer["data"]


def block(source_id: int, start: int, end: int, **extra: Any) -> dict[str, Any]:
    return {
        "agent": AGENT,
        "source": source_id,
        "start": start,
        "end": end,
        "lines": 3,
        "rejected": 1,
        "state": "{}",
        "totals": [["2024-03-19", "alpha", 1000, 2], ["2024-03-19", "nobody", 5, 1]],
        **extra,
    }


def test_blocks_count_once(runtime: Runtime, client: TestClient, make_account: MakeAccount) -> None:
    make_account(158, apps=("alpha",))
    token = token_for(runtime, "EDGE1")
    status, answer = hello(client, token, "EDGE1")
    assert status == 200, answer
    assert answer["data"]["head_lengths"] == []
    found = source(client, token, b"x" * 1024)
    assert found["new"] and found["offset"] == 0

    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 0, 500))
    assert (status, answer["data"]) == (200, {"outcome": "committed", "offset": 500})
    # Sent again (its answer was lost): acknowledged, nothing added.
    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 0, 500))
    assert (status, answer["data"]) == (200, {"outcome": "duplicate", "offset": 500})
    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 500, 900))
    assert answer["data"]["outcome"] == "committed"

    assert totals(runtime, "EDGE1") == {("alpha", DAY): (2000, 4)}
    assert unattributed(runtime) == {("nobody", DAY): (10, 2)}
    with runtime.engine.connect() as conn:
        row = conn.execute(select(ingest_sources)).one()
    assert (row.offset, row.lines, row.rejected, row.unattributed) == (900, 6, 2, 2)

    # A block that starts elsewhere: 409 naming the committed offset, nothing added.
    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 600, 1200))
    assert status == 409 and answer["offset"] == 900
    assert "committed offset 900" in answer["message"]
    assert totals(runtime, "EDGE1") == {("alpha", DAY): (2000, 4)}

    # The agent asking again after a restart learns where the file stands.
    again = source(client, token, b"x" * 1024)
    assert (again["source"], again["offset"], again["new"]) == (found["source"], 900, False)


def test_one_agent_per_server(runtime: Runtime, client: TestClient) -> None:
    token = token_for(runtime, "EDGE1")
    assert hello(client, token, "EDGE1")[0] == 200
    assert hello(client, token, "EDGE1")[0] == 200  # the same agent again: renewed
    status, answer = hello(client, token, "EDGE1", agent=OTHER_AGENT)
    assert status == 409
    assert "held by another agent on host 'edge'" in answer["message"]
    # The second agent cannot write either.
    found = source(client, token, b"y" * 1024)
    status, answer = post(
        client, wire.BLOCKS, token, block(found["source"], 0, 10) | {"agent": OTHER_AGENT}
    )
    assert status == 409 and "another agent" in answer["message"]
    # A clean stop gives the server up.
    assert post(client, wire.BYE, token, {"agent": AGENT})[0] == 200
    assert hello(client, token, "EDGE1", agent=OTHER_AGENT)[0] == 200
    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 0, 10))
    assert status == 409 and "another agent" in answer["message"]


def test_a_token_writes_only_its_own_server(runtime: Runtime, client: TestClient) -> None:
    token1, token2 = token_for(runtime, "EDGE1"), token_for(runtime, "EDGE2")
    assert hello(client, token1, "EDGE1")[0] == 200
    assert hello(client, token2, "EDGE2", agent=OTHER_AGENT)[0] == 200
    found = source(client, token1, b"z" * 1024)
    status, answer = post(
        client, wire.BLOCKS, token2, block(found["source"], 0, 10) | {"agent": OTHER_AGENT}
    )
    assert status == 403 and "not one of server 'EDGE2'" in answer["message"]
    status, answer = hello(client, token2, "EDGE1", agent=OTHER_AGENT)
    assert status == 403 and "belongs to server 'EDGE2'" in answer["message"]
    for bad in ("", "nope"):
        status, answer = hello(client, bad, "EDGE1")
        assert status == 401 and answer["message"] == "Unknown or missing ingest token"


def test_refusals_are_envelopes(runtime: Runtime, client: TestClient) -> None:
    token = token_for(runtime, "EDGE1")
    assert hello(client, token, "EDGE1")[0] == 200
    found = source(client, token, b"w" * 1024)
    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 0, 10) | {"lines": -1})
    assert status == 400 and answer["message"].startswith("Invalid 'lines'")
    status, answer = post(client, wire.BLOCKS, token, block(found["source"], 10, 10))
    assert status == 400 and "'end' must be past its 'start'" in answer["message"]
    response = client.post(
        wire.BLOCKS, content=b"{not json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400 and response.json()["status"] == "failure"
    huge = b" " * (runtime.settings.intake_max_body_bytes + 1)
    response = client.post(wire.BLOCKS, content=huge, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413 and response.json()["code"] == 413
    response = client.get(wire.BLOCKS)
    assert response.status_code == 405


def test_files_first_seen_short_are_found_by_their_head_length(
    runtime: Runtime, client: TestClient
) -> None:
    token = token_for(runtime, "EDGE1")
    assert hello(client, token, "EDGE1")[0] == 200
    short = source(client, token, b"s" * 100)
    status, answer = hello(client, token, "EDGE1")
    assert answer["data"]["head_lengths"] == [100]
    # The same file, grown: asked by its 1024-byte head alone, the centre wants the 100 too.
    grown = b"s" * 100 + b"t" * 924
    status, answer = post(
        client,
        wire.SOURCES,
        token,
        {
            "agent": AGENT,
            "format": "nginx-combined",
            "path": "/log",
            "head_len": 1024,
            "fingerprints": {"1024": hashlib.sha256(grown).hexdigest()},
        },
    )
    assert status == 409 and answer["head_lengths"] == [100]
    status, answer = post(
        client,
        wire.SOURCES,
        token,
        {
            "agent": AGENT,
            "format": "nginx-combined",
            "path": "/log",
            "head_len": 1024,
            "fingerprints": {
                "1024": hashlib.sha256(grown).hexdigest(),
                "100": hashlib.sha256(grown[:100]).hexdigest(),
            },
        },
    )
    assert status == 200 and answer["data"]["source"] == short["source"]


def test_disk_figures_are_summed_over_servers(
    runtime: Runtime, client: TestClient, make_account: MakeAccount
) -> None:
    make_account(158, storage_users=("alice", "bob"))
    tokens = {name: token_for(runtime, name) for name in ("EDGE1", "EDGE2")}
    for n, (name, token) in enumerate(tokens.items()):
        assert hello(client, token, name, agent=str(n) * 32)[0] == 200
    report = {"day": "2024-03-19", "measured": "2024-03-19T10:00:00Z"}
    status, answer = post(
        client,
        wire.DISK,
        tokens["EDGE1"],
        report | {"agent": "0" * 32, "figures": {"alice": 100, "stranger": 7}},
    )
    assert status == 200 and answer["data"] == {"recorded": 2, "unknown": ["stranger"]}
    post(
        client,
        wire.DISK,
        tokens["EDGE2"],
        report | {"agent": "1" * 32, "figures": {"alice": 20, "bob": 5}},
    )
    # EDGE1 measures again the same day: its figure is replaced, EDGE2's kept.
    post(client, wire.DISK, tokens["EDGE1"], report | {"agent": "0" * 32, "figures": {"alice": 50}})
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(disk_usage.c.storage_user_id, disk_usage.c.bytes)).all()
        users = {u["id"]: u["name"] for u in accounts.list_storage_users(conn)}
    assert {users[u]: b for u, b in rows} == {"alice": 70, "bob": 5}


def test_messages_decode_with_the_api_bounds(runtime: Runtime, client: TestClient) -> None:
    """The intake decodes JSON as every route does: deep nesting, duplicate keys and lone
    surrogates are a 400 naming the problem, never a 500."""
    token = token_for(runtime, "EDGE1")
    headers = {"Authorization": f"Bearer {token}"}
    for raw, says in (
        (b'{"agent": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"agent": "a", "agent": "b"}', "duplicate key"),
        (b'{"agent": "\\ud800"}', "unpaired surrogate"),
    ):
        response = client.post(wire.HELLO, content=raw, headers=headers)
        assert response.status_code == 400, response.text
        assert says in response.json()["message"]

"""Tenant isolation of the sevu.* commands: a valid key of account A naming account B's
tickets, stream users or applications gets exactly the answer given for ones that do not
exist, and A's lists never show B's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streampanel.runtime import Runtime
from streampanel.store import tickets as store
from streampanel.store.engine import write_transaction
from tests.conftest import MakeAccount
from tests.isolation.test_tenant_matrix import Tenants, same_refusal


@pytest.fixture
def tenants(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> Tenants:
    return Tenants(runtime, make_account, tmp_path / "sestore1")


TICKET = {"video": "cam*", "pass": "pw", "ip": "0.0.0.0/0", "uses": 0}


def _ticket(tenants: Tenants, creds: Any, app: str) -> str:
    answer = tenants.call(creds, "sevu.request", app=app, **TICKET)
    assert answer["status"] == "success", answer
    return str(answer["ticket"]["key"])


@pytest.mark.parametrize("command", ["sevu.status", "sevu.revoke", "sevu.errorlog"])
def test_foreign_ticket_keys(tenants: Tenants, command: str) -> None:
    b_key = _ticket(tenants, tenants.b, "b-origin")
    missing = tenants.call(tenants.a, command, key="nosuch")
    assert missing["code"] == 404
    same_refusal(tenants.call(tenants.a, command, key=b_key), missing, b_key)
    # B's ticket is untouched, and B may use it.
    status = tenants.call(tenants.b, "sevu.status", key=b_key)
    assert status["ticket"]["active"] == 1
    assert tenants.call(tenants.b, command, key=b_key)["status"] == "success"


def test_foreign_applications_in_a_ticket(tenants: Tenants) -> None:
    missing = tenants.call(tenants.a, "sevu.request", app="nosuch", **TICKET)
    assert missing["code"] == 404
    same_refusal(
        tenants.call(tenants.a, "sevu.request", app="b-origin", **TICKET), missing, "b-origin"
    )
    mixed = tenants.call(tenants.a, "sevu.request", app="a-origin|b-live", **TICKET)
    same_refusal(mixed, missing, "b-live")


def test_attempts_are_per_account(tenants: Tenants) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with write_transaction(tenants.dispatcher.engine) as conn:
        store.log_attempt(
            conn,
            159,
            now,
            key="",
            ip="203.0.113.1",
            app="b-origin",
            video="cam",
            protocol="hls",
            success=False,
            reason="Invalid Auth Token",
            **{"pass": ""},
        )
    assert tenants.call(tenants.a, "sevu.errorlog")["data"] == []
    assert tenants.call(tenants.a, "sevu.errorcount")["data"] == []
    assert tenants.call(tenants.a, "sevu.errorcount", app="b-origin")["data"] == []
    assert len(tenants.call(tenants.b, "sevu.errorlog")["data"]) == 1


STREAM_USER = {"stream": "cam", "user": "encoder", "pass": "pw"}


def test_foreign_stream_users(tenants: Tenants) -> None:
    added = tenants.call(tenants.b, "sevu.addstreamuser", app="b-origin", **STREAM_USER)
    b_id = added["data"]["streamuser_id"]
    for command in ("sevu.retrievestreamuser", "sevu.removestreamuser"):
        missing = tenants.call(tenants.a, command, streamuser_id=b_id + 1000)
        foreign = tenants.call(tenants.a, command, streamuser_id=b_id)
        assert missing["code"] == foreign["code"] == 404
        assert foreign["message"] == missing["message"].replace(str(b_id + 1000), str(b_id))
        by_name_missing = tenants.call(
            tenants.a, command, app="nosuch", stream="cam", user="encoder"
        )
        by_name = tenants.call(tenants.a, command, app="b-origin", stream="cam", user="encoder")
        same_refusal(by_name, by_name_missing, "b-origin")
    assert (
        tenants.call(tenants.b, "sevu.retrievestreamuser", streamuser_id=b_id)["status"]
        == "success"
    )

    missing = tenants.call(tenants.a, "sevu.addstreamuser", app="nosuch", **STREAM_USER)
    foreign = tenants.call(tenants.a, "sevu.addstreamuser", app="b-origin", **STREAM_USER)
    same_refusal(foreign, missing, "b-origin")
    missing = tenants.call(tenants.a, "sevu.liststreamusers", app="nosuch")
    same_refusal(
        tenants.call(tenants.a, "sevu.liststreamusers", app="b-origin"), missing, "b-origin"
    )
    assert tenants.call(tenants.a, "sevu.liststreamusers")["data"] == []

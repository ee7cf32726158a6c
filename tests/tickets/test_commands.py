"""The sevu.* commands through the whole dispatcher, on both stores."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from streampanel.runtime import Runtime
from streampanel.store.tables.tickets import stream_users
from streampanel.tickets.passwords import verify_password
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import dispatch, signed_json

# 2026-03-01 12:00:00 UTC
NOW = 1772366400.0
TICKET = {"app": "demo-origin", "video": "foo*", "pass": "foo", "ip": "auto/24", "uses": 10}


@pytest.fixture
def creds(make_account: MakeAccount) -> Credentials:
    make_account(159, apps=("other-origin",))
    return make_account(158, apps=("demo-origin", "demo-live"))


def call(runtime: Runtime, creds: Credentials, command: str, **params: Any) -> dict[str, Any]:
    return dispatch(runtime, creds, command, now=NOW, **params)


def test_request_answers_the_ticket_clients_read(runtime: Runtime, creds: Credentials) -> None:
    answer = call(runtime, creds, "sevu.request", **TICKET, expire="2026-03-02 12:00:00")
    assert answer["status"] == "success", answer
    ticket = answer["ticket"]
    # Every member the PHP client's factory requires, as its integration test expects them.
    assert ticket == {
        "key": ticket["key"],
        "pass": "foo",
        "app": "demo-origin",
        "video": "foo*",
        "ip": "auto/24",
        "uses": 10,
        "used": 0,
        "uses_remaining": 10,
        "active": 1,
        "created_date": "2026-03-01 12:00:00",
        "used_date": "0000-00-00 00:00:00",
        "expire_date": "2026-03-02 12:00:00",
    }
    assert re.fullmatch(r"foo_\.[a-f0-9]+\.\d+", ticket["key"])


def test_keys_carry_128_random_bits(runtime: Runtime, creds: Credentials) -> None:
    keys = {call(runtime, creds, "sevu.request", **TICKET, n=i)["ticket"]["key"] for i in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(key.split(".")[1]) == 32  # 32 hex digits


@pytest.mark.parametrize(
    "given,expected",
    [
        ({"expire": "2026-03-05 01:16:39"}, "2026-03-05 01:16:39"),
        ({"expires": "2026-03-05 01:16:39"}, "2026-03-05 01:16:39"),
        # Both spellings sent: expire wins.
        ({"expire": "2026-03-05 00:00:00", "expires": "2027-01-01"}, "2026-03-05 00:00:00"),
        ({"expires": "2026-03-05 9:05:00"}, "2026-03-05 09:05:00"),
        ({"expire": "2026-03-05"}, "2026-03-05 00:00:00"),
        ({"expire": "2026-03-05T10:00:00+02:00"}, "2026-03-05 08:00:00"),
        ({"expire": "2026-03-05T10:00:00Z"}, "2026-03-05 10:00:00"),
        ({"expire": "Thu, 05 Mar 2026 10:00:00 +0000"}, "2026-03-05 10:00:00"),
        ({"expire": "+1 day"}, "2026-03-02 12:00:00"),
        ({"expire": "+2 hours"}, "2026-03-01 14:00:00"),
        ({"expire": 1772452800}, "2026-03-02 12:00:00"),
        ({"expire": "1772452800"}, "2026-03-02 12:00:00"),
        # Neither: a week.
        ({}, "2026-03-08 12:00:00"),
    ],
)
def test_expiry_forms(
    runtime: Runtime, creds: Credentials, given: dict[str, Any], expected: str
) -> None:
    answer = call(runtime, creds, "sevu.request", **TICKET, **given)
    assert answer["status"] == "success", answer
    assert answer["ticket"]["expire_date"] == expected


@pytest.mark.parametrize(
    "params,field",
    [
        ({"expire": "next tuesday-ish"}, "expire"),
        ({"expires": "99999-01-01"}, "expires"),
        ({"ip": "300.1.2.3"}, "ip"),
        ({"ip": "auto/40"}, "ip"),
        ({"ip": ""}, "ip"),
        ({"uses": -1}, "uses"),
        ({"uses": "many"}, "uses"),
        ({"video": ""}, "video"),
        ({"pass": ""}, "pass"),
        ({"pass": "x" * 256}, "pass"),
    ],
)
def test_bad_request_parameters_name_the_field(
    runtime: Runtime, creds: Credentials, params: dict[str, Any], field: str
) -> None:
    answer = call(runtime, creds, "sevu.request", **{**TICKET, **params})
    assert answer["code"] == 400, answer
    assert f"'{field}'" in answer["message"]


def test_ip_rules_are_normalised_and_listed(runtime: Runtime, creds: Credentials) -> None:
    ticket = call(
        runtime, creds, "sevu.request", **{**TICKET, "ip": "192.168.0.7/24|auto|0.0.0.0/0|::1"}
    )["ticket"]
    assert ticket["ip"] == "192.168.0.0/24|auto|0.0.0.0/0|::1"


def test_application_names_must_be_the_accounts_wildcards_are_free(
    runtime: Runtime, creds: Credentials
) -> None:
    ok = call(runtime, creds, "sevu.request", **{**TICKET, "app": "demo-origin|demo-*"})
    assert ok["status"] == "success"
    missing = call(runtime, creds, "sevu.request", **{**TICKET, "app": "nosuch"})
    foreign = call(runtime, creds, "sevu.request", **{**TICKET, "app": "other-origin"})
    assert missing["code"] == foreign["code"] == 404
    assert foreign["message"].replace("other-origin", "X") == missing["message"].replace(
        "nosuch", "X"
    )


def test_unlimited_uses(runtime: Runtime, creds: Credentials) -> None:
    ticket = call(runtime, creds, "sevu.request", **{**TICKET, "uses": 0})["ticket"]
    assert ticket["uses"] == 0 and ticket["uses_remaining"] is None


def test_the_same_signed_request_twice_creates_one_ticket(
    runtime: Runtime, creds: Credentials
) -> None:
    from streampanel.api import Dispatcher

    text = signed_json(creds, "sevu.request", timestamp=NOW, **TICKET).encode()
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=lambda: NOW)
    first = dispatcher.handle(text).body
    second = dispatcher.handle(text).body
    assert first["ticket"]["key"] == second["ticket"]["key"]


def test_status_and_revoke(runtime: Runtime, creds: Credentials) -> None:
    key = call(runtime, creds, "sevu.request", **TICKET)["ticket"]["key"]
    status = call(runtime, creds, "sevu.status", key=key)
    assert status["ticket"]["key"] == key and status["ticket"]["active"] == 1
    revoked = call(runtime, creds, "sevu.revoke", key=key)
    assert revoked["status"] == "success" and revoked["ticket"]["active"] == 0
    assert call(runtime, creds, "sevu.status", key=key)["ticket"]["active"] == 0
    # Revoking again is no error.
    assert call(runtime, creds, "sevu.revoke", key=key)["status"] == "success"
    missing = call(runtime, creds, "sevu.status", key="foo_.00.1")
    assert missing["code"] == 404
    assert missing["message"] == "Unknown ticket 'foo_.00.1'"


def test_errorlog_and_errorcount_of_a_fresh_ticket_are_empty(
    runtime: Runtime, creds: Credentials
) -> None:
    key = call(runtime, creds, "sevu.request", **TICKET)["ticket"]["key"]
    assert call(runtime, creds, "sevu.errorlog", key=key, starttime="2026-01-01")["data"] == []
    assert call(runtime, creds, "sevu.errorcount", key=key)["data"] == []
    assert call(runtime, creds, "sevu.errorcount", success="1", limit="25", seek="0")["data"] == []


def _hash_of(runtime: Runtime, streamuser_id: int) -> str:
    with runtime.engine.connect() as conn:
        return str(
            conn.execute(
                select(stream_users.c.password_hash).where(stream_users.c.id == streamuser_id)
            ).scalar_one()
        )


def test_stream_users(runtime: Runtime, creds: Credentials) -> None:
    added = call(
        runtime,
        creds,
        "sevu.addstreamuser",
        app="demo-origin",
        stream="cam",
        user="encoder",
        **{"pass": "s3cret"},
        record=True,
        record_type="stream",
        segment_type="size",
        segment_value=15,
    )
    assert added["status"] == "success", added
    user = added["data"]
    assert "pass" not in user and "s3cret" not in str(added)
    assert user["user"] == "encoder" and user["auth"] == "password"
    assert (user["record"], user["segment_type"], user["segment_value"]) == (True, "size", 15)
    assert user["enable_dvr"] is None
    stored = _hash_of(runtime, user["streamuser_id"])
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret", stored) and not verify_password("S3cret", stored)

    # The same user again: a new password, the same entry.
    again = call(
        runtime,
        creds,
        "sevu.addstreamuser",
        app="demo-origin",
        stream="cam",
        user="encoder",
        **{"pass": "other"},
    )["data"]
    assert again["streamuser_id"] == user["streamuser_id"]
    assert verify_password("other", _hash_of(runtime, user["streamuser_id"]))

    open_all = call(
        runtime,
        creds,
        "sevu.addstreamuser",
        app="demo-live",
        stream="*",
        user=None,
        **{"pass": None},
    )["data"]
    assert open_all["user"] is None and open_all["auth"] == "none"

    listed = call(runtime, creds, "sevu.liststreamusers")["data"]
    assert [u["streamuser_id"] for u in listed] == [
        user["streamuser_id"],
        open_all["streamuser_id"],
    ]
    assert call(runtime, creds, "sevu.liststreamusers", app="demo-live")["data"] == [open_all]
    assert call(runtime, creds, "sevu.liststreamusers", stream="cam")["data"][0]["stream"] == "cam"

    by_name = call(
        runtime, creds, "sevu.retrievestreamuser", app="demo-origin", stream="cam", user="encoder"
    )
    assert by_name["data"]["streamuser_id"] == user["streamuser_id"]
    removed = call(runtime, creds, "sevu.removestreamuser", streamuser_id=user["streamuser_id"])
    assert removed["status"] == "success"
    gone = call(runtime, creds, "sevu.retrievestreamuser", streamuser_id=user["streamuser_id"])
    assert gone["code"] == 404
    removed = call(runtime, creds, "sevu.removestreamuser", app="demo-live", stream="*", user=None)
    assert removed["status"] == "success", removed
    assert call(runtime, creds, "sevu.liststreamusers")["data"] == []


@pytest.mark.parametrize(
    "params,field",
    [
        ({"user": "enc oder"}, "user"),
        ({"user": "x" * 65}, "user"),
        ({"pass": None}, "pass"),
        ({"user": None}, "pass"),
        ({"segment_type": "weekly"}, "segment_type"),
        ({"stream": ""}, "stream"),
    ],
)
def test_bad_stream_user_parameters(
    runtime: Runtime, creds: Credentials, params: dict[str, Any], field: str
) -> None:
    base = {"app": "demo-origin", "stream": "cam", "user": "encoder", "pass": "pw"}
    answer = call(runtime, creds, "sevu.addstreamuser", **{**base, **params})
    assert answer["code"] == 400, answer
    assert f"'{field}'" in answer["message"]


def test_expiry_in_the_past_is_accepted(runtime: Runtime, creds: Credentials) -> None:
    # A client sending its local time (or 12-hour clock) must still get a ticket.
    past = (datetime.fromtimestamp(NOW, UTC) - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
    answer = call(runtime, creds, "sevu.request", **TICKET, expires=past)
    assert answer["ticket"]["expire_date"] == past

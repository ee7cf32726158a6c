"""Registry-walk cases for the sevu.* commands (see tests/commands/test_registry_walk.py)."""

from __future__ import annotations

from typing import Any

from streampanel.runtime import Runtime
from tests.conftest import Credentials
from tests.support.calls import dispatch

TICKET = {"app": "demo-origin", "video": "cam*", "pass": "p4ss", "ip": "0.0.0.0/0", "uses": 3}
STREAM_USER = {"app": "demo-origin", "stream": "cam", "user": "encoder", "pass": "s3cret"}


def ticket_key(runtime: Runtime, creds: Credentials) -> str:
    answer = dispatch(runtime, creds, "sevu.request", **TICKET)
    assert answer["status"] == "success", answer
    return str(answer["ticket"]["key"])


def stream_user_id(runtime: Runtime, creds: Credentials) -> int:
    answer = dispatch(runtime, creds, "sevu.addstreamuser", **STREAM_USER)
    assert answer["status"] == "success", answer
    return int(answer["data"]["streamuser_id"])


def _key(runtime: Runtime, creds: Credentials) -> dict[str, Any]:
    return {"key": ticket_key(runtime, creds)}


CASES: dict[str, Any] = {
    "sevu.request": (lambda rt, c: dict(TICKET), {**TICKET, "ip": "nowhere"}),
    "sevu.status": (_key, {"key": "demo.nosuch.1"}),
    "sevu.revoke": (_key, {"key": "demo.nosuch.1"}),
    "sevu.errorlog": (_key, {"key": "demo.nosuch.1"}),
    "sevu.errorcount": (lambda rt, c: {"app": "demo-origin"}, {"limit": 0}),
    "sevu.addstreamuser": (lambda rt, c: dict(STREAM_USER), {**STREAM_USER, "app": "nosuch"}),
    "sevu.removestreamuser": (
        lambda rt, c: {"streamuser_id": stream_user_id(rt, c)},
        {"streamuser_id": 99999},
    ),
    "sevu.liststreamusers": (lambda rt, c: {"app": "demo-origin"}, {"app": "other-origin"}),
    "sevu.retrievestreamuser": (
        lambda rt, c: {"streamuser_id": stream_user_id(rt, c)},
        {"app": "demo-origin", "stream": "cam", "user": "nobody"},
    ),
}

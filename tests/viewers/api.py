"""Calling commands in-process with a pinned clock, for the viewers tests."""

from __future__ import annotations

from typing import Any

from streampanel.client import sign_request
from streampanel.runtime import Runtime
from streampanel.server.dispatch import Dispatcher
from tests.conftest import Credentials

NOW = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def call(runtime: Runtime, creds: Credentials, command: str, now: int = NOW, **params: Any) -> dict:
    request = {
        "command": command,
        "api_key": creds.api_key,
        "timestamp": now,
        "cdn": creds.cdn,
        **params,
    }
    signed = sign_request(request, creds.secret)
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=lambda: now)
    return dispatcher.handle(signed.final_json.encode()).body


def livedetailed(runtime: Runtime, creds: Credentials, now: int = NOW, **params: Any) -> list:
    body = call(runtime, creds, "viewer.livedetailed", now=now, **params)
    assert body["status"] == "success", body
    assert body["message"] == "Found Viewer Data"
    return body["data"]

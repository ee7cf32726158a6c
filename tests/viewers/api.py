"""Calling commands in-process with a pinned clock, for the viewers tests."""

from __future__ import annotations

from typing import Any

from streampanel.runtime import Runtime
from tests.conftest import Credentials
from tests.support.calls import dispatch

NOW = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def call(runtime: Runtime, creds: Credentials, command: str, now: int = NOW, **params: Any) -> dict:
    return dispatch(runtime, creds, command, now=now, **params)


def livedetailed(runtime: Runtime, creds: Credentials, now: int = NOW, **params: Any) -> list:
    body = call(runtime, creds, "viewer.livedetailed", now=now, **params)
    assert body["status"] == "success", body
    assert body["message"] == "Found Viewer Data"
    return body["data"]

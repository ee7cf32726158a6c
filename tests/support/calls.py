"""Signed requests for tests: built as the SDK builds them, dispatched in-process."""

from __future__ import annotations

import time
from typing import Any

from streampanel.api import Dispatcher
from streampanel.client import sign_request
from streampanel.runtime import Runtime
from tests.conftest import Credentials


def signed_json(
    creds: Credentials,
    command: str,
    *,
    timestamp: float | str | None = None,
    secret: str | None = None,
    **params: Any,
) -> str:
    """The ``json`` text a client posts: the request signed with the key's secret."""
    stamp = int(time.time()) if timestamp is None else timestamp
    request = {
        "command": command,
        "api_key": creds.api_key,
        "timestamp": stamp if isinstance(stamp, str) else int(stamp),
        "cdn": creds.cdn,
        **params,
    }
    return sign_request(request, secret or creds.secret).final_json


def dispatch(
    runtime: Runtime,
    creds: Credentials,
    command: str,
    *,
    now: float | None = None,
    secret: str | None = None,
    **params: Any,
) -> dict[str, Any]:
    """The envelope the server answers, through the whole dispatcher (clock pinned to
    ``now`` when given)."""
    clock = time.time if now is None else (lambda: now)
    text = signed_json(creds, command, timestamp=clock(), secret=secret, **params)
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=clock)
    return dispatcher.handle(text.encode()).body

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from streampanel.client import sign_request
from streampanel.runtime import Runtime
from streampanel.server.app import create_app
from tests.conftest import Credentials


@pytest.fixture
def api(runtime: Runtime) -> Iterator[TestClient]:
    """The ASGI app in-process (no background services)."""
    app = create_app(runtime.settings, runtime.engine, runtime.box)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def signed_json(
    creds: Credentials, command: str, timestamp: int | None = None, **params: Any
) -> str:
    request = {
        "command": command,
        "api_key": creds.api_key,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
        "cdn": creds.cdn,
        **params,
    }
    return sign_request(request, creds.secret).final_json

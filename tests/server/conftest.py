from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from streampanel.runtime import Runtime
from streampanel.server.app import create_app


@pytest.fixture
def api(runtime: Runtime) -> Iterator[TestClient]:
    """The ASGI app in-process (no background services)."""
    app = create_app(runtime.settings, runtime.engine, runtime.box)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from streampanel.runtime import Runtime
from tests.conftest import in_process_app


@pytest.fixture
def api(runtime: Runtime) -> Iterator[TestClient]:
    """The ASGI app in-process (no background services)."""
    with TestClient(in_process_app(runtime), raise_server_exceptions=False) as client:
        yield client

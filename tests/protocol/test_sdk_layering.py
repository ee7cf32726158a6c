"""The SDK stands on the protocol layer only: no store, no server."""

from __future__ import annotations

import subprocess
import sys

import streampanel.client


def test_sdk_imports_neither_the_store_nor_the_server() -> None:
    code = (
        "import sys, streampanel.client; "
        "bad = [m for m in ('sqlalchemy', 'starlette', 'uvicorn', 'alembic') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sdk_exports() -> None:
    assert sorted(streampanel.client.__all__) == [
        "Client",
        "SignedRequest",
        "StreamPanelError",
        "sign_request",
    ]

"""Registry-walk cases for viewer.livedetailed (see tests/commands/test_registry_walk.py)."""

from __future__ import annotations

import time
from typing import Any

from streampanel.runtime import Runtime
from streampanel.store.viewers import StreamCount
from streampanel.viewers.snapshots import store_report
from tests.conftest import Credentials


def _live(runtime: Runtime, creds: Credentials) -> dict[str, Any]:
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        int(time.time()),
        [StreamCount("_defaultVHost_", "demo-live", "cam1", 3)],
    )
    return {"app": "demo-live", "url": "cam*"}


CASES = {
    "viewer.livedetailed": (_live, {"app": "other-origin", "url": "*"}),
}

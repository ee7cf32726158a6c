"""Registry-walk cases for the usage commands (see tests/commands/test_registry_walk.py)."""

from __future__ import annotations

from typing import Any

CASES: dict[str, tuple[Any, dict[str, Any] | None]] = {
    "video.servers": (lambda rt, c: {"app": "demo-origin"}, {"app": "other-origin"}),
    "disk.usage": (
        lambda rt, c: {"cpu": "", "starttime": "2024-03-01"},
        {"cpu": "other", "starttime": "2024-03-01"},
    ),
}

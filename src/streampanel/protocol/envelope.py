"""The response envelope, built in exactly one place for success and failure."""

from __future__ import annotations

import json
from typing import Any

from streampanel.errors import ApiError


def _handle_time(seconds: float) -> str:
    return f"{seconds:.4f} seconds"


def success(message: str, payload_key: str, payload: Any, seconds: float) -> dict[str, Any]:
    return {
        "status": "success",
        "code": 200,
        "message": message,
        payload_key: payload,
        "handle_time": _handle_time(seconds),
    }


def failure(error: ApiError, seconds: float) -> dict[str, Any]:
    return {
        "status": "failure",
        "code": error.code,
        "message": error.message,
        "handle_time": _handle_time(seconds),
    }


_ENCODER = json.JSONEncoder(separators=(",", ":"))


def render(body: dict[str, Any]) -> bytes:
    return _ENCODER.encode(body).encode("utf-8")

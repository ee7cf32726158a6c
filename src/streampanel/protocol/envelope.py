"""The response envelope, built in exactly one place for success and failure."""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
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


def done(message: str, seconds: float) -> dict[str, Any]:
    """A success that carries no payload (routes beside the API, e.g. the viewer push)."""
    return {
        "status": "success",
        "code": 200,
        "message": message,
        "handle_time": _handle_time(seconds),
    }


def failure(error: ApiError, seconds: float) -> dict[str, Any]:
    return {
        "status": "failure",
        "code": error.code,
        "message": error.message,
        "handle_time": _handle_time(seconds),
    }


_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
# json's C encoder, built once: JSONEncoder.encode builds a new one for every call, which
# costs as much as encoding an envelope.  (None where the C accelerator is missing.)
_C_ENCODER = (
    c_make_encoder(
        None, _ENCODER.default, encode_basestring_ascii, None, ":", ",", False, False, True
    )
    if c_make_encoder is not None
    else None
)


def render(body: dict[str, Any]) -> bytes:
    if _C_ENCODER is None:
        return _ENCODER.encode(body).encode("utf-8")
    return "".join(_C_ENCODER(body, 0)).encode("utf-8")

"""The response envelope, built in exactly one place for success and failure."""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import orjson

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
# orjson encodes an answer of a few hundred rows five to ten times faster than json's C
# encoder, up to a third of a read command's cost on the server (bench/soak.py).  Anything
# it would write differently from json's ASCII-only text goes to json: non-ASCII or DEL
# (json escapes them), integers beyond 64 bits, types json refuses (orjson would turn a
# datetime or dataclass into text).  Two differences are kept: a float below 1e-4 is
# written 0.00001 where json writes 1e-05 (the same number), and NaN, which json writes as
# the invalid JSON NaN, is null.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _render_with_json(body: dict[str, Any]) -> bytes:
    if _C_ENCODER is None:
        return _ENCODER.encode(body).encode("utf-8")
    return "".join(_C_ENCODER(body, 0)).encode("utf-8")


def render(body: dict[str, Any]) -> bytes:
    """The answer's JSON text: compact, ASCII only (other characters as ``\\uXXXX``)."""
    try:
        text = orjson.dumps(body, option=_PASSTHROUGH)
    except TypeError:
        return _render_with_json(body)
    if text.isascii() and b"\x7f" not in text:
        return text
    return _render_with_json(body)

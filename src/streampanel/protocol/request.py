"""Decoding a request's JSON text: UTF-8 checked on the raw bytes, one object, no duplicates."""

from __future__ import annotations

import json
from typing import Any

from streampanel.errors import BadRequest, InvalidParameter, MissingParameter


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads with hooks would build a new decoder for every request.
_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


def decode_request_text(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"Request JSON is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise BadRequest(f"Request JSON has a duplicate key '{exc.args[0]}'") from None
    except RecursionError:
        raise BadRequest("Request JSON is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"Request is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest("Request JSON must be an object")
    return value


def is_int(value: Any) -> bool:
    """A JSON integer (Python's bool is an int, JSON's true is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _integer_member(request: dict[str, Any], name: str, expected: str) -> int:
    if name not in request:
        raise MissingParameter(name, expected)
    value = request[name]
    if is_int(value):
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise InvalidParameter(name, expected)


def _string_member(request: dict[str, Any], name: str, expected: str) -> str:
    if name not in request:
        raise MissingParameter(name, expected)
    value = request[name]
    if not isinstance(value, str) or not value:
        raise InvalidParameter(name, expected)
    return value


ENVELOPE_MEMBERS = frozenset({"command", "cdn", "api_key", "timestamp", "signature"})


class Envelope:
    """The required members of every request, checked in the protocol's order.

    ``command``, ``cdn``, ``api_key``, ``timestamp``, ``signature``, each in turn: the first one
    missing or mistyped is the 400 (docs/protocol.md, "Order of checks").
    """

    __slots__ = ("api_key", "cdn", "command", "members", "signature", "timestamp")

    def __init__(self, members: dict[str, Any]):
        self.members = members
        get = members.get
        command, cdn, api_key = get("command"), get("cdn"), get("api_key")
        timestamp, signature = get("timestamp"), get("signature")
        # What every client sends, in one test (``type() is int`` leaves out JSON's true);
        # anything else goes through the checks below, for their message.
        if (
            type(command) is str
            and type(cdn) is int
            and type(api_key) is str
            and type(timestamp) is int
            and type(signature) is str
            and command
            and api_key
            and signature
        ):
            self.command, self.cdn, self.api_key = command, cdn, api_key
            self.timestamp, self.signature = timestamp, signature
            return
        self.command = _string_member(members, "command", "a command name string")
        self.cdn = _integer_member(members, "cdn", "an integer CDN id")
        self.api_key = _string_member(members, "api_key", "an API key string")
        self.timestamp = _integer_member(members, "timestamp", "integer unix seconds")
        self.signature = _string_member(
            members, "signature", "the base64 HMAC-SHA256 signature string"
        )

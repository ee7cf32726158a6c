"""Decoding a request's JSON text: UTF-8 checked on the raw bytes, nesting bounded, one
object, no duplicates; and reading the integers clients send without trusting their size."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, TypeGuard

from streampanel.errors import BadRequest, InvalidParameter, MissingParameter


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) < len(pairs):  # only then look for which one (a repeat shrinks the dict)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads with hooks would build a new decoder for every request.
_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


# No request of the protocol nests deeper than a few levels.  Bounded before decoding, so a
# deeply nested body costs one linear scan, whatever the thread's stack and recursion limit.
MAX_JSON_DEPTH = 32

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = [0] * 256
for _opening in b"[{":
    _DEPTH_STEP[_opening] = 1
for _closing in b"]}":
    _DEPTH_STEP[_closing] = -1


def _nested_too_deeply(raw: bytes) -> bool:
    # Nearly every body has fewer brackets than the limit in all: two counts decide.
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > MAX_JSON_DEPTH


# A \uD800-\uDFFF escape makes a character only as a high one followed by a low one.  A lone
# one decodes to a string that cannot be encoded as UTF-8 (no store, log or answer takes
# it), so it is refused here.  (NUL, which PostgreSQL text refuses, is legal JSON that signed
# requests may carry: parameters refuse it, see ``commands.params``.)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Decoded pairs are one astral character: any surrogate left in a string is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def decode_json(raw: bytes, what: str = "Request") -> Any:
    """Any JSON value from a client's bytes: valid UTF-8, at most ``MAX_JSON_DEPTH`` levels of
    nesting, no duplicate keys, no NaN or Infinity, no unpaired surrogate; else
    ``BadRequest`` naming ``what``.

    Every route decodes client JSON here, so every route has the same bounds.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} JSON is not valid UTF-8 (byte {exc.start})") from None
    if _nested_too_deeply(raw):
        raise BadRequest(f"{what} JSON is nested too deeply (over {MAX_JSON_DEPTH} levels)")
    try:
        value = _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise BadRequest(f"{what} JSON has a duplicate key {shown(exc.args[0])}") from None
    except RecursionError:  # unreachable after the depth check; kept as a last guard
        raise BadRequest(f"{what} JSON is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None
    # Nearly every body has no \u escape at all: the walk runs only when one could be lone.
    if b"\\u" in raw and _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(value):
        raise BadRequest(f"{what} JSON has an unpaired surrogate (\\uD800-\\uDFFF) in a string")
    return value


def decode_request_text(raw: bytes) -> dict[str, Any]:
    value = decode_json(raw)
    if not isinstance(value, dict):
        raise BadRequest("Request JSON must be an object")
    return value


def shown(text: str, limit: int = 64) -> str:
    """A client's text for a log line or a message: quoted with escapes (``repr``: no
    newline, control character or lone surrogate gets through), cut to ``limit`` characters
    with its length said, so no client can make a line longer than a few hundred bytes."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (Python's bool is an int, JSON's true is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


# Integers are compared with int64 columns and done arithmetic on as floats: anything larger
# in magnitude is out of every range, and is kept no larger than this.
INT_BOUND = 2**63
_INT64_DIGITS = 19
# ASCII only: str.isdigit() also accepts '²' and '٣', which int() refuses or reads as numbers.
_ASCII_DIGITS = re.compile(r"[0-9]+")


def as_integer(value: Any) -> int | None:
    """A JSON integer or a string of ASCII digits as an int, else None.

    Magnitudes beyond int64 come back as ``±INT_BOUND``, which every range check refuses:
    callers never do arithmetic on, log, or convert a number of thousands of digits.
    """
    if is_int(value):
        number = int(value)
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        digits = value.lstrip("0") or "0"
        number = int(digits) if len(digits) <= _INT64_DIGITS else INT_BOUND
    else:
        return None
    return max(-INT_BOUND, min(INT_BOUND, number))


def _integer_member(request: dict[str, Any], name: str, expected: str) -> int:
    if name not in request:
        raise MissingParameter(name, expected)
    number = as_integer(request[name])
    if number is None:
        raise InvalidParameter(name, expected)
    return number


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
            and -INT_BOUND < cdn < INT_BOUND
            and -INT_BOUND < timestamp < INT_BOUND
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

"""What the protocol layer makes of hostile numbers and nesting: Unicode digits are not numbers,
magnitudes past int64 never reach arithmetic, and nesting is refused before decoding."""

from __future__ import annotations

import json
import time

import pytest

from streampanel.errors import BadRequest
from streampanel.protocol.request import (
    INT_BOUND,
    MAX_JSON_DEPTH,
    Envelope,
    as_integer,
    decode_json,
    decode_request_text,
)


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (0, 0),
        (42, 42),
        (-7, -7),
        ("42", 42),
        ("0042", 42),
        ("0" * 50, 0),
        ("0" * 50 + "9", 9),
        (str(INT_BOUND - 1), INT_BOUND - 1),
        (INT_BOUND - 1, INT_BOUND - 1),
        (INT_BOUND, INT_BOUND),
        (10**400, INT_BOUND),
        (-(10**400), -INT_BOUND),
        ("9" * 19, INT_BOUND),  # past int64, still 19 digits
        ("9" * 401, INT_BOUND),
        ("9" * 5000, INT_BOUND),  # int() would refuse it (4300-digit limit)
    ],
)
def test_integers_are_clamped_past_int64(value: object, number: int) -> None:
    assert as_integer(value) == number


@pytest.mark.parametrize(
    "value",
    ["²", "٣", "１２", "12²", "", " 12", "12 ", "12\n", "-12", "+12", "1e3", "1.0", 1.0, True],
)
def test_only_ascii_digits_and_json_integers_are_integers(value: object) -> None:
    assert as_integer(value) is None


def _nested(depth: int, opening: str = "[", closing: str = "]") -> bytes:
    return (opening * depth + "1" + closing * depth).encode()


def test_nesting_up_to_the_limit_decodes() -> None:
    assert decode_json(_nested(MAX_JSON_DEPTH)) is not None
    assert decode_json(_nested(MAX_JSON_DEPTH, '{"a":', "}")) is not None


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deeper_nesting_is_a_bad_request_before_decoding(depth: int) -> None:
    for opening, closing in (("[", "]"), ('{"a":', "}")):
        with pytest.raises(BadRequest, match="nested too deeply"):
            decode_json(_nested(depth, opening, closing))
    # Unclosed, as a truncated attack body would be.
    with pytest.raises(BadRequest, match="nested too deeply"):
        decode_json(b"[" * depth)


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"a": "[" * 1000, "b": ["{" * 1000, '"\\[' * 50], "c": [[[]]] * 100})
    assert decode_json(text.encode())["a"] == "[" * 1000


def test_many_shallow_containers_are_not_deep() -> None:
    text = json.dumps([{"time": 1, "viewers": [1, 2]} for _ in range(10_000)]).encode()
    assert len(decode_json(text)) == 10_000


def test_the_request_decoder_uses_the_same_bound() -> None:
    with pytest.raises(BadRequest, match="nested too deeply"):
        decode_request_text(b'{"a":' + _nested(MAX_JSON_DEPTH) + b"}")


def test_a_long_duplicate_key_is_shown_cut() -> None:
    key = "k" * 10_000
    with pytest.raises(BadRequest) as raised:
        decode_json(json.dumps({key: 1}).replace("}", f', "{key}": 2}}').encode())
    assert len(raised.value.message) < 200


@pytest.mark.parametrize(
    ("timestamp", "cdn"),
    [(10**400, 158), ("9" * 401, 158), ("9" * 5000, 158), (-(10**400), 158), (1, 10**400)],
)
def test_envelope_integers_are_bounded_for_the_arithmetic_after_it(
    timestamp: object, cdn: object
) -> None:
    request = Envelope(
        {"command": "c", "cdn": cdn, "api_key": "k", "timestamp": timestamp, "signature": "s"}
    )
    for number in (request.timestamp, request.cdn):
        assert -INT_BOUND <= number <= INT_BOUND
        # What the dispatcher computes with them cannot overflow.
        assert abs(time.time() - number) >= 0


def test_unicode_digits_are_not_a_timestamp() -> None:
    with pytest.raises(BadRequest, match="'timestamp'"):
        Envelope({"command": "c", "cdn": 1, "api_key": "k", "timestamp": "²", "signature": "s"})


@pytest.mark.parametrize(
    "text",
    [
        r'{"a":"\ud800"}',
        r'{"a":"x\udfffy"}',
        r'{"\uDBFF":1}',
        r'{"a":["ok","\ud83d"]}',
        r'{"a":"\ude00\ud83d"}',  # a low before a high is not a pair
    ],
)
def test_unpaired_surrogate_escapes_are_a_bad_request(text: str) -> None:
    with pytest.raises(BadRequest, match="unpaired surrogate"):
        decode_json(text.encode())


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'{"a":"\ud83d\ude00"}', {"a": "\U0001f600"}),  # PHP escapes astral characters so
        (r'{"a":"\\ud800"}', {"a": "\\ud800"}),  # an escaped backslash, then plain text
        (r'{"a":"\u0000"}', {"a": "\x00"}),  # legal JSON (PHP sends it); parameters refuse it
        (r'{"a":"\u0001"}', {"a": "\x01"}),
        (r'{"a":"\u00e9"}', {"a": "é"}),
    ],
)
def test_surrogate_pairs_and_lookalikes_decode(text: str, value: object) -> None:
    assert decode_json(text.encode()) == value

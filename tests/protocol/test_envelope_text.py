"""The answer's JSON text (``envelope.render``): compact, ASCII only, the same value as given,
whichever encoder wrote it."""

from __future__ import annotations

import datetime
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streampanel.protocol.envelope import render

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_answer_is_ascii_json_of_the_same_value(value) -> None:
    text = render({"status": "success", "data": value})
    assert text.isascii()
    assert b"\x7f" not in text
    assert json.loads(text) == {"status": "success", "data": value}


def test_compact_with_escapes_as_json_writes_them() -> None:
    body = {"message": 'Café \u2028 \x7f \x01 "q" /', "n": [1, 2.5, None, True]}
    assert render(body) == json.dumps(body, separators=(",", ":")).encode("ascii")


def test_beyond_64_bits_and_lone_surrogates_still_render() -> None:
    assert render({"n": 2**70, "s": "\ud800"}) == b'{"n":1180591620717411303424,"s":"\\ud800"}'


def test_small_floats_keep_their_value() -> None:
    for number in (1e-05, 6.59824e-05, 3.031859454455259e-08, 1e16, 0.1):
        assert json.loads(render({"x": number}))["x"] == number


def test_nan_is_null_not_invalid_json() -> None:
    assert json.loads(render({"x": math.nan})) == {"x": None}


def test_values_json_refuses_are_refused_and_its_key_conversions_kept() -> None:
    # A date in an answer is a handler's bug: json refuses it, and so does the answer.
    for value in (datetime.date(2026, 1, 1), datetime.datetime(2026, 1, 1)):
        with pytest.raises(TypeError):
            render({"x": value})
    assert render({"x": {1: "a", 2.5: "b"}}) == b'{"x":{"1":"a","2.5":"b"}}'

"""A serializer that writes what PHP's ``json_encode($value)`` writes with default flags.

The SDK signs this text, and a server written for the documented PHP client may rebuild the
signed text with PHP's own encoder, so it must match PHP byte for byte (the PHP signing vectors
in tests/data pin it): ``/`` escaped as ``\\/``, non-ASCII as lowercase ``\\uXXXX`` (astral
characters as surrogate pairs), DEL left raw, floats in PHP's ``serialize_precision = -1``
format, and PHP's array rules: a dict whose keys are exactly ``0..n-1`` (ints or their decimal
strings) is a list, an empty dict is ``[]``. Use :data:`EMPTY_OBJECT` (PHP's
``new stdClass()``) for ``{}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


class _EmptyObject(Mapping[str, Any]):
    """PHP ``new stdClass()``: encodes as ``{}``."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "EMPTY_OBJECT"


EMPTY_OBJECT: Mapping[str, Any] = _EmptyObject()

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _escape_char(char: str) -> str:
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x20 or code > 0x7F:
        if code > 0xFFFF:
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"
    return char


def encode_string(text: str) -> str:
    if text.isascii() and text.isprintable() and not any(c in text for c in '"\\/'):
        return f'"{text}"'
    return '"' + "".join(_escape_char(c) for c in text) + '"'


def encode_float(value: float) -> str:
    """PHP's ``smart_str_append_double`` with precision 17 and shortest round-trip digits."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("PHP json_encode cannot encode INF or NAN")
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    _sign, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # decpt: position of the decimal point relative to the digit string.
    decpt = len(digit_tuple) + exponent
    prefix = "-" if value < 0 else ""
    if decpt < -3 or decpt > 17:
        mantissa = digits[0] + "." + (digits[1:] or "0")
        exp = decpt - 1
        return f"{prefix}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"
    if decpt <= 0:
        return f"{prefix}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return prefix + digits + "0" * (decpt - len(digits))
    return f"{prefix}{digits[:decpt]}.{digits[decpt:]}"


def _is_php_list(value: Mapping[Any, Any]) -> bool:
    return all(
        (isinstance(key, int) and key == index) or key == str(index)
        for index, key in enumerate(value)
    )


def php_json_encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, str):
        return encode_string(value)
    if isinstance(value, _EmptyObject):
        return "{}"
    if isinstance(value, Mapping):
        if _is_php_list(value):
            return "[" + ",".join(php_json_encode(v) for v in value.values()) + "]"
        return (
            "{"
            + ",".join(f"{encode_string(str(k))}:{php_json_encode(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + ",".join(php_json_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as PHP JSON")

"""Request signatures, shared by the server and the SDK.

``signature = base64(HMAC_SHA256(secret, signed_text))``.  Clients sign the JSON text without
the signature, then add the member and serialize again; serializers differ, so the server
never re-serializes.  It cuts the top-level ``"signature"`` member out of the bytes it received
(:func:`split_signature`) and verifies those bytes, whatever the client's serializer.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass


class MalformedJson(ValueError):
    """The text is not a JSON object this scanner can walk (the decoder says why first)."""


@dataclass(slots=True)  # not frozen: that costs every request twice the object
class SplitRequest:
    signed_text: bytes
    # The signature member's value as written (JSON text), or None when absent.
    signature_json: bytes | None

    @property
    def signature(self) -> object:
        """The signature member's value decoded (normally a string), or None when absent."""
        return None if self.signature_json is None else json.loads(self.signature_json)


class Signer:
    """HMAC-SHA256 under one secret (RFC 2104), the key's inner and outer hash states made once.

    The server keeps one per cached key: every request then costs two hash-state copies
    instead of a full HMAC set-up, a third of the time.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str):
        key = secret.encode("utf-8")
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def signature(self, signed_text: bytes) -> bytes:
        """The base64 signature, padded."""
        inner = self._inner.copy()
        inner.update(signed_text)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return binascii.b2a_base64(outer.digest(), newline=False)

    def matches(self, signed_text: bytes, signature: str) -> bool:
        """Compare base64 *strings* in constant time, ``=`` padding ignored on both sides.

        Decoded bytes are not compared: lenient decoders accept several strings for one digest.
        """
        expected = self.signature(signed_text).rstrip(b"=")
        return hmac.compare_digest(expected, signature.rstrip("=").encode("utf-8"))


_SHA256_BLOCK = 64
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def sign(signed_text: bytes, secret: str) -> str:
    return Signer(secret).signature(signed_text).decode("ascii")


def signature_matches(signed_text: bytes, secret: str, signature: str) -> bool:
    return Signer(secret).matches(signed_text, signature)


_WS = re.compile(rb"[ \t\r\n]*")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
# Inside a container, the next byte that matters: a quote or a bracket.
_CONTAINER_EVENT = re.compile(rb'["\[\]{}]')
_SCALAR_END = re.compile(rb"[,}\] \t\r\n]|$")


def _skip_ws(text: bytes, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _end_of_string(text: bytes, pos: int) -> int:
    """``pos`` is at an opening quote; returns the index after the closing quote."""
    match = _STRING.match(text, pos)
    if match is None:
        raise MalformedJson("unterminated string")
    return match.end()


def _end_of_value(text: bytes, pos: int) -> int:
    if pos >= len(text):
        raise MalformedJson("missing value")
    if text[pos] == 0x22:
        return _end_of_string(text, pos)
    if text[pos] in b"[{":
        depth = 0
        while True:
            match = _CONTAINER_EVENT.search(text, pos)
            if match is None:
                raise MalformedJson("unterminated container")
            pos = match.start()
            byte = text[pos]
            if byte == 0x22:
                pos = _end_of_string(text, pos)
                continue
            depth += 1 if byte in b"[{" else -1
            pos += 1
            if depth == 0:
                return pos
    # number, true, false, null: runs to the next delimiter
    return _SCALAR_END.search(text, pos).start()  # type: ignore[union-attr]


def _decode_key(raw: bytes) -> str:
    # Keys are nearly always plain; only escaped ones need the JSON decoder.
    if b"\\" in raw:
        return str(json.loads(raw))
    return raw[1:-1].decode("utf-8")


# What nearly every client sends: the signature as the last member, after a comma.  In valid
# JSON an unescaped quote is always a string delimiter, so "signature" found after a comma
# and followed by a string value, the final "}" and the end of the text is necessarily the
# top-level member.  Anything else goes to the scanner.
_SIGNATURE_TO_END = re.compile(
    rb'"signature"[ \t\r\n]*:[ \t\r\n]*("[^"\\]*(?:\\.[^"\\]*)*")[ \t\r\n]*}[ \t\r\n]*\Z'
)


def split_signature(text: bytes) -> SplitRequest:
    key_start = text.rfind(b'"signature"')
    if key_start > 0:
        comma = len(text[:key_start].rstrip(b" \t\r\n")) - 1
        trailing = _SIGNATURE_TO_END.match(text, key_start)
        if trailing is not None and comma >= 0 and text[comma] == 0x2C:
            value_end = trailing.end(1)
            return SplitRequest(text[:comma] + text[value_end:], trailing.group(1))
    return _split_by_scanning(text)


def _split_by_scanning(text: bytes) -> SplitRequest:
    """Cut the top-level ``signature`` member out of a JSON object's text, exactly.

    Removed: the member as written, the whitespace belonging to it, and one adjacent comma (the
    preceding one unless it is the first member, else the following one).  Every other byte is
    kept.  The text must already have been validated as a JSON object.
    """
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != 0x7B:
        raise MalformedJson("not an object")
    pos += 1
    previous_comma: int | None = None  # index of the comma before the current member
    while True:
        member_start = pos
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == 0x7D:
            return SplitRequest(text, None)
        key_end = _end_of_string(text, pos)
        key = _decode_key(text[pos:key_end])
        pos = _skip_ws(text, key_end)
        if pos >= len(text) or text[pos] != 0x3A:
            raise MalformedJson("expected ':'")
        value_start = _skip_ws(text, pos + 1)
        value_end = _end_of_value(text, value_start)
        after = _skip_ws(text, value_end)
        if key == "signature":
            signature = text[value_start:value_end]
            if previous_comma is not None:
                cut_start, cut_end = previous_comma, value_end
            elif after < len(text) and text[after] == 0x2C:
                # First member followed by others: drop it with the comma and the following
                # whitespace, keeping the whitespace that preceded it.
                cut_start = _skip_ws(text, member_start)
                cut_end = _skip_ws(text, after + 1)
            else:
                # The only member.
                cut_start, cut_end = _skip_ws(text, member_start), after
            return SplitRequest(text[:cut_start] + text[cut_end:], signature)
        if after >= len(text):
            raise MalformedJson("unterminated object")
        if text[after] == 0x7D:
            return SplitRequest(text, None)
        if text[after] != 0x2C:
            raise MalformedJson("expected ',' or '}'")
        previous_comma = after
        pos = after + 1

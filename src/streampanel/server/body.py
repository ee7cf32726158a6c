"""Getting the request's JSON text out of an HTTP body, as raw bytes.

Form parsers decode field values (quietly replacing invalid UTF-8); the signature is over
bytes, so the ``json`` field is extracted undecoded and checked by the protocol layer.
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, parse_options_header

from streampanel.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

JSON_FIELD = b"json"


def _percent_decode(value: bytes) -> bytes:
    """Form-decode to bytes (urllib's parse_qsl decodes to str and back).

    Every request body goes through here: rewriting %XX as \\xXX lets the C escape decoder
    do the work, ten times faster than urllib's loop; malformed escapes, which it refuses,
    go to urllib's lenient decoder.
    """
    plain = value.replace(b"+", b" ")
    if b"%" not in plain:
        return plain
    try:
        return codecs.escape_decode(plain.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
    except ValueError:
        return unquote_to_bytes(plain)


def _from_urlencoded(body: bytes) -> bytes:
    values = []
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == JSON_FIELD or _percent_decode(name) == JSON_FIELD:
            values.append(_percent_decode(value))
    return _single_field(values)


class _JsonFieldCollector:
    """python-multipart callbacks that keep the raw bytes of every ``json`` part."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._data: list[bytes] = []

    def on_part_begin(self) -> None:
        self._headers, self._field, self._value, self._data = {}, b"", b"", []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])

    def on_part_end(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == JSON_FIELD:
            self.values.append(b"".join(self._data))


def _from_multipart(body: bytes, boundary: bytes) -> bytes:
    collector = _JsonFieldCollector()
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks=callbacks)  # type: ignore[arg-type]
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # python-multipart raises its own error types
        raise BadRequest(f"Malformed multipart body: {exc}") from None
    return _single_field(collector.values)


def _single_field(values: list[bytes]) -> bytes:
    if not values:
        raise BadRequest("Missing form field 'json' holding the request JSON")
    if len(values) > 1:
        raise BadRequest("Form field 'json' given more than once")
    return values[0]


def extract_json_text(content_type: str, body: bytes, max_json_bytes: int) -> bytes:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json":
        text = body
    elif media_type == "application/x-www-form-urlencoded":
        text = _from_urlencoded(body)
    elif media_type == "multipart/form-data":
        boundary = parse_options_header(content_type)[1].get(b"boundary")
        if not boundary:
            raise BadRequest("Multipart body without a boundary")
        text = _from_multipart(body, boundary)
    else:
        raise UnsupportedMediaType()
    if len(text) > max_json_bytes:
        raise PayloadTooLarge(f"Request JSON larger than {max_json_bytes} bytes")
    return text

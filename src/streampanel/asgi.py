"""The ASGI interface's few types, and reading a request body within a bound.

Shared by the HTTP layer's API endpoint and the routes features add (the agents' intake), so
every body the server reads is read the same way: refused by its declared length before a
byte is read, counted as it streams in, and never held beyond the bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from streampanel.errors import PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientGone(Exception):
    """The client disconnected before its body arrived: nobody to answer."""


async def read_body(receive: Receive, declared: bytes | str, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (``PayloadTooLarge`` beyond; ``declared``
    is the Content-Length header, empty when absent)."""
    # Starlette gives headers as latin-1 text: back to bytes, whose isdigit() is ASCII only
    # ('²'.isdigit() is true).  More digits than an int64 has is too large, unconverted.
    length = declared.encode("latin-1") if isinstance(declared, str) else declared
    if length.isdigit() and (len(length) > 18 or int(length) > limit):
        raise PayloadTooLarge(f"Request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ('' when there is none)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""

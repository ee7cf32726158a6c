"""``POST /stable/``: the API endpoint, served as a bare ASGI application.

Every API request goes through here, and the protocol needs nothing a web framework
provides (one path, one method, one body field, one JSON answer): routing, middleware and
request objects would cost more than verifying the request.  Everything else the server
answers goes through Starlette (``streampanel.server.app``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from streampanel.errors import ApiError, MethodNotAllowed, PayloadTooLarge, TransportError
from streampanel.metrics import Metrics
from streampanel.protocol import envelope
from streampanel.server.body import extract_json_text
from streampanel.server.dispatch import Dispatcher, Outcome

log = logging.getLogger("streampanel.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

API_PATHS = frozenset({"/stable/", "/stable", "/dev/", "/dev"})

# Room for a form's encoding around a JSON text of the maximum size (urlencoding can
# triple it); the JSON text itself is limited exactly afterwards.
_FORM_OVERHEAD_FACTOR = 3
_FORM_OVERHEAD_BYTES = 64 * 1024


class _ClientGone(Exception):
    """The client disconnected before its body arrived: nobody to answer."""


def failure_outcome(error: ApiError, started: float) -> Outcome:
    return Outcome(
        body=envelope.failure(error, time.perf_counter() - started),
        http_status=error.http_status,
        headers=error.headers,
    )


async def send_envelope(send: Send, outcome: Outcome) -> None:
    body = envelope.render(outcome.body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    for name, value in outcome.headers.items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": outcome.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _body_headers(scope: Scope) -> tuple[bytes, bytes]:
    """The request's Content-Type and Content-Length (empty when absent)."""
    content_type = content_length = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            content_length = value
    return content_type, content_length


async def _read_body(receive: Receive, declared: bytes, limit: int) -> bytes:
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ApiEndpoint:
    def __init__(self, dispatcher: Dispatcher, metrics: Metrics, max_json_bytes: int):
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.max_json_bytes = max_json_bytes
        self.body_limit = max_json_bytes * _FORM_OVERHEAD_FACTOR + _FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._outcome(scope, receive, started)
        except _ClientGone:
            return
        except Exception:
            # Whatever went wrong, the client gets an envelope, never a traceback.
            log.exception("unhandled error on %s", scope["path"])
            outcome = failure_outcome(TransportError(500, "Internal error"), started)
        elapsed = time.perf_counter() - started
        code = outcome.body.get("code", outcome.http_status)
        self.metrics.observe_request(outcome.command, code, elapsed)
        if log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            log.info(
                json.dumps(
                    {
                        "event": "request",
                        "path": scope["path"],
                        "command": outcome.command,
                        "cdn": outcome.cdn,
                        "code": code,
                        "ms": round(elapsed * 1000, 2),
                        "client": client[0] if client else None,
                    }
                )
            )
        await send_envelope(send, outcome)

    async def _outcome(self, scope: Scope, receive: Receive, started: float) -> Outcome:
        if scope["method"] != "POST":
            outcome = failure_outcome(MethodNotAllowed(), started)
            outcome.headers = {"Allow": "POST"}
            return outcome
        content_type, content_length = _body_headers(scope)
        try:
            body = await _read_body(receive, content_length, self.body_limit)
            text = extract_json_text(content_type.decode("latin-1"), body, self.max_json_bytes)
        except ApiError as error:
            return failure_outcome(error, started)
        prepared = self.dispatcher.prepare(text, started)
        if isinstance(prepared, Outcome):
            return prepared
        if prepared.command.inline:
            return self.dispatcher.execute_inline(prepared)
        return await run_in_threadpool(self.dispatcher.execute, prepared)

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

from streampanel.api import Dispatcher, Outcome, failure_outcome
from streampanel.asgi import ClientGone, Receive, Scope, Send, read_body
from streampanel.errors import ApiError, MethodNotAllowed, TransportError
from streampanel.metrics import Metrics
from streampanel.protocol import envelope
from streampanel.server.body import extract_json_text

log = logging.getLogger("streampanel.access")

API_PATHS = frozenset({"/stable/", "/stable", "/dev/", "/dev"})

# Room for a form's encoding around a JSON text of the maximum size (urlencoding can
# triple it); the JSON text itself is limited exactly afterwards.
_FORM_OVERHEAD_FACTOR = 3
_FORM_OVERHEAD_BYTES = 64 * 1024


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


class ApiEndpoint:
    def __init__(self, dispatcher: Dispatcher, metrics: Metrics, max_json_bytes: int):
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.max_json_bytes = max_json_bytes
        self.body_limit = max_json_bytes * _FORM_OVERHEAD_FACTOR + _FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        # One coroutine per step that awaits (the body, the handler): every request pays for
        # each frame added here.
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowed(headers={"Allow": "POST"})
            content_type, declared = _body_headers(scope)
            body = await read_body(receive, declared, self.body_limit)
            text = extract_json_text(content_type.decode("latin-1"), body, self.max_json_bytes)
            answered = self.dispatcher.answer(text, started)
            outcome = answered if isinstance(answered, Outcome) else await answered
        except ApiError as error:
            outcome = failure_outcome(error, started)
        except ClientGone:
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

"""Talking to the centre over HTTPS: one request at a time, the server's token in the
``Authorization`` header (never logged), the centre's certificate verified (against
``ca_file`` when set), request bodies streamed in pieces and answers read up to a bound.

Failures come back as two kinds: ``Unreachable`` (no answer, a timeout, 502/503/504 — try
again later) and ``Refused`` (the centre answered no: a bad token, a lease held by another
agent, an offset conflict — its status, message and details say which).
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import BaseModel

from streampanel.agent.config import AgentConfig

# Request bodies go out in pieces of this size (an offset conflict or a 413 can cut a send
# short without the rest having been produced).
CHUNK_BYTES = 64 << 10
# The centre's answers are small envelopes; anything larger is not one.
MAX_ANSWER_BYTES = 1 << 20
_TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "streampanel-agent"


class CentralError(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class Unreachable(CentralError):
    """No usable answer: try again later."""


class Refused(CentralError):
    """The centre answered with a refusal (4xx): ``status``, its message and details."""

    def __init__(self, status: int, message: str, details: dict[str, Any]):
        self.status = status
        self.details = details
        # Status 0: refused before any request (the token file cannot be read).
        super().__init__(f"{status} {message}" if status else message)


class Central:
    def __init__(
        self,
        config: AgentConfig,
        *,
        after_first_piece: Callable[[], None] | None = None,
        on_sent: Callable[[int], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.config = config
        # Called once the first piece of a request body went out (the "sending" failpoint).
        self.after_first_piece = after_first_piece
        # Told each request body's size (what crosses the network, for the metrics).
        self.on_sent = on_sent
        self.bytes_sent = 0
        self._count_lock = threading.Lock()
        verify: ssl.SSLContext | bool = True
        if config.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(config.ca_file))
        self._client = httpx.Client(
            base_url=config.base_url,
            verify=verify,
            timeout=httpx.Timeout(
                config.timeout_seconds, connect=min(10.0, config.timeout_seconds)
            ),
            headers={"User-Agent": USER_AGENT},
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def post(
        self, path: str, message: BaseModel | list[Any], params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST ``message`` as JSON; the answer's ``data`` (``{}`` when it has none), or
        ``Unreachable``/``Refused``."""
        if isinstance(message, BaseModel):
            body = message.model_dump_json().encode("utf-8")
        else:
            body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        try:
            token = self.config.read_token()
        except OSError as exc:
            raise Refused(
                0, f"cannot read the token file {self.config.token_file}: {exc.strerror}", {}
            ) from None
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
        }
        with self._count_lock:
            self.bytes_sent += len(body)
        if self.on_sent is not None:
            self.on_sent(len(body))
        try:
            with self._client.stream(
                "POST", path, content=self._pieces(body), headers=headers, params=params
            ) as response:
                answer = _read_bounded(response)
                status = response.status_code
        except httpx.HTTPError as exc:
            raise Unreachable(_describe(exc)) from None
        envelope = _envelope(answer)
        if status == 200 and envelope.get("status") == "success":
            data = envelope.get("data")
            return data if isinstance(data, dict) else {}
        message_text = str(envelope.get("message") or f"HTTP {status}")
        if status in _TRANSIENT_STATUSES or status == 200:
            raise Unreachable(f"{status} {message_text}")
        details = {k: v for k, v in envelope.items() if k not in _ENVELOPE_KEYS}
        raise Refused(status, message_text, details)

    def _pieces(self, body: bytes) -> Iterator[bytes]:
        # The first piece is at most half the body: a send cut short after it (a dying agent,
        # the "sending" failpoint) always leaves the centre an incomplete body.
        first = min(CHUNK_BYTES, max(1, len(body) // 2))
        yield body[:first]
        if self.after_first_piece is not None:
            self.after_first_piece()
        for start in range(first, len(body), CHUNK_BYTES):
            yield body[start : start + CHUNK_BYTES]


_ENVELOPE_KEYS = {"status", "code", "message", "handle_time"}


def _read_bounded(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise httpx.DecodingError(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(answer: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(answer)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _describe(exc: httpx.HTTPError) -> str:
    """A short reason for the log: the kind of failure, not a traceback."""
    reason = str(exc) or exc.__class__.__name__
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({reason})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({reason})"
    return f"{exc.__class__.__name__}: {reason}"

"""A local YouTube Data API upload endpoint speaking the public resumable protocol.

What the real client library sees from Google, on 127.0.0.1:

* ``POST /token`` — OAuth 2.0 refresh-token grant: ``client_id``, ``client_secret`` and
  ``refresh_token`` form fields in, ``{"access_token", "expires_in", "token_type"}`` out;
  a wrong client or token answers ``400 {"error": "invalid_grant"}``.
* ``POST /upload/youtube/v3/videos?uploadType=resumable&part=...`` with ``Authorization:
  Bearer``, the video resource as JSON, ``X-Upload-Content-Length``/``-Type`` headers:
  ``200`` with ``Location:`` the session URI (``...&upload_id=...``).
* ``PUT <session URI>`` with ``Content-Range: bytes a-b/N`` and the bytes: ``308`` with
  ``Range: bytes=0-last`` while incomplete, ``200`` with the video resource at the end.
* ``PUT <session URI>`` with ``Content-Range: bytes */N`` and no body: the status query,
  answered ``308`` with the ``Range`` held so far (no header when nothing), or ``200``
  with the resource when complete.

Errors use Google's JSON error shape.  Tests inject failures (``fail_next`` for the next
upload requests, ``fail_chunk`` for a given data PUT of a session), slow chunks
(``chunk_delay``) and read what arrived: sessions, bytes received per session, bytes that
were sent twice, finished videos with the SHA-256 of their content.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.postgres import free_port

UPLOAD_PATH = "/upload/youtube/v3/videos"


@dataclass
class Session:
    id: str
    resource: dict[str, Any]
    total: int
    content_type: str
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    video: dict[str, Any] | None = None
    puts: int = 0
    data_puts: int = 0
    status_queries: int = 0
    resent_bytes: int = 0


@dataclass
class Video:
    resource: dict[str, Any]
    size: int
    sha256: str


class FakeYouTube:
    def __init__(
        self,
        client_id: str = "client-1",
        client_secret: str = "client-secret",
        refresh_token: str = "refresh-1",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}/"
        self.token_uri = f"http://127.0.0.1:{self.port}/token"
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, Video] = {}
        self.fail_next: list[int] = []
        # Data PUT number (1-based, per session) -> status to answer it with instead.
        self.fail_chunk: dict[int, int] = {}
        self.chunk_delay = 0.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control -------------------------------------------------------------------

    def start(self) -> FakeYouTube:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.sessions.clear()
            self.videos.clear()
            self.tokens.clear()
            self.fail_next.clear()
            self.fail_chunk.clear()
            self.token_requests = 0
            self.chunk_delay = 0.0

    @property
    def total_bytes_received(self) -> int:
        return sum(s.received + s.resent_bytes for s in self.sessions.values())


def _error(status: int, message: str, reason: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "youtube", "reason": reason}],
        }
    }
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeYouTube

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        if url.path == "/token":
            self._send(*self._token(body))
        elif url.path == UPLOAD_PATH:
            self._send(*self._start(url.query, body))
        else:
            self._send(*_error(404, "Not Found", "notFound"))

    def do_PUT(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        upload_id = parse_qs(url.query).get("upload_id", [""])[0]
        if url.path != UPLOAD_PATH or not upload_id:
            self._send(*_error(404, "Not Found", "notFound"))
            return
        self._send(*self._chunk(upload_id, body))

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        fake = self.server_fake
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with fake.lock:
            fake.token_requests += 1
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("client_id") != fake.client_id
            or form.get("client_secret") != fake.client_secret
            or form.get("refresh_token") != fake.refresh_token
        ):
            payload = {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
            return 400, {"Content-Type": "application/json"}, json.dumps(payload).encode()
        token = "ya29." + secrets.token_urlsafe(24)
        with fake.lock:
            fake.tokens.add(token)
        payload = {
            "access_token": token,
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/youtube.upload",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _start(self, query: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        fake = self.server_fake
        params = parse_qs(query)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
            return _error(
                401, "Request is missing required authentication credential.", "authError"
            )
        if params.get("uploadType") != ["resumable"]:
            return _error(400, "Only resumable uploads are supported here", "badRequest")
        if fake.fail_next:
            with fake.lock:
                status = fake.fail_next.pop(0)
            return _error(status, f"Injected failure {status}", "injected")
        try:
            resource = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "Invalid JSON payload received.", "parseError")
        title = resource.get("snippet", {}).get("title")
        if not title:
            return _error(
                400, "The request metadata does not specify a valid video title.", "invalidTitle"
            )
        total = int(self.headers.get("X-Upload-Content-Length") or -1)
        session = Session(
            secrets.token_hex(16),
            resource,
            total,
            self.headers.get("X-Upload-Content-Type", "video/*"),
        )
        with fake.lock:
            fake.sessions[session.id] = session
        part = params.get("part", ["snippet"])[0]
        location = (
            f"http://127.0.0.1:{fake.port}{UPLOAD_PATH}?uploadType=resumable"
            f"&part={part}&upload_id={session.id}"
        )
        return 200, {"Location": location, "Content-Type": "text/plain"}, b""

    def _incomplete(self, session: Session) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "text/plain"}
        if session.received:
            headers["Range"] = f"bytes=0-{session.received - 1}"
        return 308, headers, b""

    def _done(self, session: Session) -> tuple[int, dict[str, str], bytes]:
        assert session.video is not None
        return (
            200,
            {"Content-Type": "application/json; charset=UTF-8"},
            json.dumps(session.video).encode(),
        )

    def _chunk(self, upload_id: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        fake = self.server_fake
        session = fake.sessions.get(upload_id)
        if session is None:
            return _error(404, "Upload session not found", "notFound")
        content_range = self.headers.get("Content-Range", "")
        if not content_range.startswith("bytes "):
            return _error(400, "Content-Range is required", "badRequest")
        spec, _, total = content_range[6:].partition("/")
        with fake.lock:
            session.puts += 1
            if spec == "*":
                session.status_queries += 1
                return self._done(session) if session.video else self._incomplete(session)
            session.data_puts += 1
            status = fake.fail_chunk.pop(session.data_puts, 0)
            if not status and fake.fail_next:
                status = fake.fail_next.pop(0)
            if status:
                return _error(status, f"Injected failure {status}", "injected")
        if fake.chunk_delay:
            time.sleep(fake.chunk_delay)
        first, _, last = spec.partition("-")
        start, end = int(first), int(last)
        if end - start + 1 != len(body) or (total != "*" and int(total) != session.total):
            return _error(400, "Content-Range does not match the body", "badRequest")
        with fake.lock:
            if session.video is not None:
                session.resent_bytes += len(body)
                return self._done(session)
            if start > session.received:
                # A gap: the client must resume from what we hold.
                return self._incomplete(session)
            overlap = session.received - start
            session.resent_bytes += min(overlap, len(body))
            fresh = body[overlap:] if overlap > 0 else body
            session.digest.update(fresh)
            session.received += len(fresh)
            if session.received < session.total:
                return self._incomplete(session)
            video_id = secrets.token_urlsafe(8)[:11]
            session.video = {
                "kind": "youtube#video",
                "etag": secrets.token_urlsafe(20),
                "id": video_id,
                "snippet": {**session.resource.get("snippet", {}), "channelId": "UCfake"},
                "status": {
                    "uploadStatus": "uploaded",
                    "privacyStatus": session.resource.get("status", {}).get(
                        "privacyStatus", "private"
                    ),
                },
            }
            fake.videos[video_id] = Video(
                session.video, session.received, session.digest.hexdigest()
            )
            return self._done(session)

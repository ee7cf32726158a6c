"""A local webhook receiver: verifies signatures, answers scripted statuses, records requests."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from streampanel.uploads import callbacks
from tests.support.postgres import free_port


class Receiver:
    def __init__(
        self,
        secret: str,
        statuses: list[int] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.secret = secret
        self.statuses = list(statuses or [])
        self.received: list[dict[str, Any]] = []
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/hook"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    {
                        "body": body,
                        "headers": dict(self.headers),
                        "valid": callbacks.verify(
                            receiver.secret,
                            self.headers[callbacks.TIMESTAMP_HEADER],
                            body,
                            self.headers[callbacks.SIGNATURE_HEADER],
                        ),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((host, self.port), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""moto's S3 as a real HTTP endpoint on 127.0.0.1, with a log of the requests it served.

The log is what lets tests tell "the part was already stored" from "the part was sent
again": every ``UploadPart`` request (upload id, part number) is recorded as it arrives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support.postgres import free_port


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Seen] = []
        # Seconds each UploadPart is held before it is stored: a slow link, for crash tests.
        self.part_delay = 0.0
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _app(self) -> Any:
        backend = DomainDispatcherApplication(create_backend_app)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            seen = Seen(
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", ""),
                parse_qs(environ.get("QUERY_STRING", "")),
            )
            with self._lock:
                self.requests.append(seen)
            if self.part_delay and seen.method == "PUT" and "partNumber" in seen.query:
                time.sleep(self.part_delay)
            return backend(environ, start_response)

        return app

    def start(self) -> MotoServer:
        # One log line per request would bury test output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server(
            "127.0.0.1", self.port, self._app(), threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()

    def part_uploads(self, upload_id: str | None = None) -> Counter[tuple[str, int]]:
        """``(upload id, part number) -> times sent``."""
        counts: Counter[tuple[str, int]] = Counter()
        with self._lock:
            for seen in self.requests:
                if seen.method == "PUT" and "partNumber" in seen.query:
                    uid = seen.query["uploadId"][0]
                    if upload_id is None or uid == upload_id:
                        counts[(uid, int(seen.query["partNumber"][0]))] += 1
        return counts

    def object_puts(self, bucket: str) -> Counter[str]:
        """``key -> PutObject requests`` (single-request uploads) for a bucket."""
        counts: Counter[str] = Counter()
        prefix = f"/{bucket}/"
        with self._lock:
            for seen in self.requests:
                if (
                    seen.method == "PUT"
                    and seen.path.startswith(prefix)
                    and "partNumber" not in seen.query
                ):
                    counts[seen.path[len(prefix) :]] += 1
        return counts

    def completions(self, bucket: str) -> int:
        """CompleteMultipartUpload requests for a bucket."""
        with self._lock:
            return sum(
                1
                for seen in self.requests
                if seen.method == "POST"
                and seen.path.startswith(f"/{bucket}/")
                and "uploadId" in seen.query
            )

"""A tiny real HTTP server standing in for nginx-rtmp's /stat page in collector tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StatServer:
    """Serves ``documents`` in turn (the last one repeats); ``None`` answers HTTP 500."""

    def __init__(self, documents: list[bytes | None]):
        self.documents = list(documents)
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index = min(server.requests, len(server.documents) - 1)
                server.requests += 1
                document = server.documents[index]
                if document is None:
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stat"

    @contextmanager
    def running(self) -> Iterator[StatServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join()


def stat_document(streams: dict[str, int], app: str = "demo-live") -> bytes:
    """A /stat document with a publisher and ``n`` players per stream."""
    body = []
    for name, players in streams.items():
        clients = "<client><id>1</id><address>192.0.2.1</address><flashver>FMLE/3.0</flashver>"
        clients += "<publishing/><active/></client>"
        clients += "".join(
            f"<client><id>{i + 2}</id><address>198.51.100.{i}</address>"
            "<flashver>LNX 9,0,124,2</flashver><active/></client>"
            for i in range(players)
        )
        body.append(
            f"<stream><name>{name}</name>{clients}<nclients>{players + 1}</nclients>"
            "<publishing/><active/></stream>"
        )
    return (
        f"<rtmp><server><application><name>{app}</name><live>{''.join(body)}</live>"
        "</application></server></rtmp>"
    ).encode()

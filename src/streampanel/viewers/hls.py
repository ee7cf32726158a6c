"""HLS viewers derived from access logs: distinct clients per stream in a sliding window.

RTMP statistics never show HLS players: each one is only a series of HTTP requests for a
stream's playlists and segments.  A *viewer* here is a distinct client that fetched any of a
stream's playlists or segments during the last ``window`` seconds.  A client is the session
token in the URL when there is one (a ``session``/``sid``-style query member, or Wowza's
``_w<digits>`` in chunklist and media names), else the pair (IP address, User-Agent).

Snapshots are taken at every multiple of ``step`` seconds of *log time* as the log passes
it, so replaying a log gives the same rows as tailing it live.  Limits: viewers behind one
NAT with the same player are counted once (no token), a player that switches networks twice;
CDN or proxy caches in front of the origin hide their viewers (count at the edge that serves
them); a viewer who pauses longer than the window leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from streampanel.store.viewers import StreamCount

HLS_EXTENSIONS = (".m3u8", ".ts", ".m4s", ".aac", ".m4a", ".m4v", ".vtt")
SESSION_PARAMETERS = ("session", "sessionid", "session_id", "sid", "wowzasessionid")
_WOWZA_SESSION = re.compile(r"_w(\d+)(?:_|\.)")
# nginx-rtmp's flat layout names segments <stream>-<n>.ts next to <stream>.m3u8.
_FLAT_SEGMENT = re.compile(r"^(?P<stream>.+)-\d+$")
# Wowza's application instance and VOD prefixes are not part of the stream name.
_INSTANCE = "_definst_"
_VOD_PREFIX = re.compile(r"^(?:mp4|mp3|flv|smil|amlst):")


@dataclass(frozen=True)
class Hit:
    """One request of an access log."""

    time: int  # unix seconds
    ip: str
    user_agent: str
    uri: str  # path and query
    status: int


@dataclass(frozen=True)
class StreamHit:
    time: int
    app: str
    stream: str
    client: str


def stream_of(path: str, pattern: re.Pattern[str] | None = None) -> tuple[str, str] | None:
    """``(app, stream)`` a playlist or segment path belongs to, or ``None``.

    With ``pattern`` (named groups ``app`` and ``stream``) that decides; otherwise:
    ``/app/stream.m3u8`` and ``/app/stream-12.ts`` (nginx-rtmp flat), ``/app/stream/any.m3u8``
    (nested: nginx-rtmp ``hls_nested``, Wowza, SRS), ``/app/_definst_/stream/...``, and VOD
    ``/app/sestore3/user/path/file.mp4/index.m3u8`` (the stream is the VOD path).
    """
    if not path.lower().endswith(HLS_EXTENSIONS):
        return None
    if pattern is not None:
        match = pattern.search(path)
        if match is None:
            return None
        return match["app"], match["stream"]
    parts = [p for p in path.split("/") if p and p != _INSTANCE]
    if len(parts) < 2:
        return None
    app, *middle, filename = parts
    if middle:
        return app, _VOD_PREFIX.sub("", "/".join(middle))
    stem = filename.rsplit(".", 1)[0]
    if not filename.lower().endswith(".m3u8"):
        flat = _FLAT_SEGMENT.match(stem)
        stem = flat["stream"] if flat else stem
    return app, stem


def client_of(hit: Hit, filename: str, query: str) -> str:
    for name, value in parse_qsl(query, keep_blank_values=False):
        if name.lower() in SESSION_PARAMETERS:
            return f"token:{value}"
    wowza = _WOWZA_SESSION.search(filename)
    if wowza:
        return f"token:{wowza[1]}"
    return f"ip:{hit.ip}\t{hit.user_agent}"


def stream_hit(hit: Hit, pattern: re.Pattern[str] | None = None) -> StreamHit | None:
    """The stream and client of a successful playlist or segment request, else ``None``."""
    if not 200 <= hit.status < 400:
        return None
    parts = urlsplit(hit.uri)
    path = unquote(parts.path)
    found = stream_of(path, pattern)
    if found is None:
        return None
    app, stream = found
    return StreamHit(hit.time, app, stream, client_of(hit, path.rsplit("/", 1)[-1], parts.query))


@dataclass(frozen=True)
class HlsSnapshot:
    time: int
    counts: list[StreamCount]


@dataclass
class HlsViewerWindow:
    """Distinct clients per stream seen in the last ``window`` seconds, snapshot every ``step``.

    Feed hits in log order with :meth:`feed`; it returns the snapshots of the step
    boundaries the log has passed.  :meth:`advance` takes snapshots up to a wall-clock time
    (a quiet log still ends its viewers), :meth:`flush` one at the last hit's time.
    """

    vhost: str
    window: int = 60
    step: int = 60
    _seen: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    _next: int | None = None
    _last_time: int | None = None
    _last_empty: bool = False

    def _snapshot(self, at: int) -> HlsSnapshot:
        horizon = at - self.window
        counts: list[StreamCount] = []
        for key in list(self._seen):
            clients = self._seen[key]
            for client in [c for c, seen in clients.items() if seen <= horizon]:
                del clients[client]
            if not clients:
                del self._seen[key]
                continue
            live = sum(1 for seen in clients.values() if seen <= at)
            if live:
                counts.append(StreamCount(self.vhost, key[0], key[1], live))
        return HlsSnapshot(at, counts)

    def _until(self, moment: int) -> list[HlsSnapshot]:
        """Snapshots at every boundary strictly before ``moment``, skipping idle stretches."""
        if self._next is None:
            self._next = (moment // self.step + 1) * self.step
            return []
        snapshots: list[HlsSnapshot] = []
        while self._next < moment:
            if not self._seen and self._last_empty:
                # Nothing can change before the next hit: jump over the idle stretch.
                self._next = -(-moment // self.step) * self.step
                break
            snapshot = self._snapshot(self._next)
            empty = not snapshot.counts
            if not (empty and self._last_empty):
                snapshots.append(snapshot)
            self._last_empty = empty
            self._next += self.step
        return snapshots

    def feed(self, hit: StreamHit) -> list[HlsSnapshot]:
        snapshots = self._until(hit.time)
        clients = self._seen.setdefault((hit.app, hit.stream), {})
        clients[hit.client] = max(clients.get(hit.client, hit.time), hit.time)
        self._last_time = max(self._last_time or hit.time, hit.time)
        return snapshots

    def feed_all(self, hits: Iterable[StreamHit]) -> list[HlsSnapshot]:
        snapshots: list[HlsSnapshot] = []
        for hit in hits:
            snapshots.extend(self.feed(hit))
        return snapshots

    def advance(self, now: int) -> list[HlsSnapshot]:
        """Snapshots of the boundaries up to and including ``now``."""
        return self._until(now + 1)

    def flush(self) -> list[HlsSnapshot]:
        """Snapshots up to the last hit, ending with one at its time (end of a replayed log)."""
        if self._last_time is None:
            return []
        snapshots = self._until(self._last_time)
        snapshots.append(self._snapshot(self._last_time))
        return snapshots

"""The decision routes the streaming servers call (see deploy/nginx/tickets.conf).

    GET  /sevu/hls/start     a playlist requested with key and pass: 302 to the same playlist
                             carrying a session instead, or 403
    GET  /sevu/hls/check     nginx auth_request for a playlist requested with a session: 200
                             with X-Sevu-Query (session and segment link), or 403
    POST /sevu/rtmp/play     nginx-rtmp on_play: 200 or 403
    POST /sevu/rtmp/publish  nginx-rtmp on_publish: 200 or 403

The HLS routes read the viewer's request from headers nginx sets: ``X-Real-IP`` (the viewer's
address), ``X-Original-URI`` (path and query as the viewer sent them), ``X-Sevu-App`` and
``X-Sevu-Video`` (what the shipped location regex captured) and, for checks,
``X-Sevu-Segment-Seconds`` (how long segment links last; absent: until the ticket expires).
The viewer's address is believed only because the caller is a streaming server: a caller
outside ``ticket_trusted_servers`` gets 403 whatever it sends.  A store outage is a 503.

The two HLS routes are bare ASGI callables: they run for every playlist a player loads, and
need nothing of a request object but three headers.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route

from streampanel.asgi import ClientGone, Receive, Scope, Send, read_body
from streampanel.errors import PayloadTooLarge, StoreUnavailable
from streampanel.service import ServiceContext
from streampanel.tickets.gate import Decision, TicketGate, Viewer
from streampanel.tickets.links import LINK_PURPOSE, SESSION_PURPOSE

log = logging.getLogger("streampanel.tickets")

START_PATH = "/sevu/hls/start"
CHECK_PATH = "/sevu/hls/check"
PLAY_PATH = "/sevu/rtmp/play"
PUBLISH_PATH = "/sevu/rtmp/publish"

_MAX_FORM = 16 * 1024
_MAX_SEGMENT_SECONDS = 7 * 86400
# A redirect target: a path of this server (never '//host', which would leave it).
_LOCAL_PATH = re.compile(r"^/(?![/\\])[\x21-\x7e]*$")


async def _answer(send: Send, status: int, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"0"), (b"cache-control", b"no-store"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": b""})


class _TrustedServers:
    def __init__(self, networks: list[str]):
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]
        self._known: dict[str, bool] = {}

    def __call__(self, scope: Scope) -> bool:
        client = scope.get("client")
        host = client[0] if client else ""
        known = self._known.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
                known = any(address in network for network in self.networks)
            except ValueError:
                known = False
            if len(self._known) < 10_000:
                self._known[host] = known
        return known


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope["headers"])


def _hls_viewer(headers: dict[bytes, bytes], key: str = "", password: str = "") -> Viewer:
    return Viewer(
        "hls",
        headers.get(b"x-real-ip", b"").decode("latin-1"),
        headers.get(b"x-sevu-app", b"").decode("utf-8", "replace"),
        headers.get(b"x-sevu-video", b"").decode("utf-8", "replace"),
        key,
        password,
    )


def _query(uri: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(uri.partition("?")[2]).items()}


def _session_of(uri: bytes) -> str:
    """The ``s`` argument of the playlist's query ('' when absent).  Not parse_qs, which
    costs more than the rest of a check: sessions are plain ASCII, never percent-encoded."""
    query = uri.partition(b"?")[2]
    for argument in query.split(b"&"):
        if argument.startswith(b"s="):
            return argument[2:].decode("latin-1")
    return ""


def _segment_seconds(headers: dict[bytes, bytes]) -> int:
    text = headers.get(b"x-sevu-segment-seconds", b"")
    if text.isdigit() and len(text) < 9:
        return min(int(text), _MAX_SEGMENT_SECONDS)
    return 0


class _Route:
    """A decision route: only the trusted streaming servers get an answer."""

    def __init__(self, gate: TicketGate, trusted: _TrustedServers):
        self.gate = gate
        self.trusted = trusted


class HlsStart(_Route):
    """A playlist requested with a ticket: the start decision, then a redirect carrying the
    session, so the player's reloads and child playlists never present the ticket again."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.trusted(scope):
            await _answer(send, 403)
            return
        headers = _headers(scope)
        uri = headers.get(b"x-original-uri", b"").decode("latin-1")
        # Not urlsplit: it would read '//host/x' as a host and a path.
        path = uri.partition("?")[0]
        query = _query(uri)
        viewer = _hls_viewer(headers, query.get("key", ""), query.get("pass", ""))
        if not (viewer.address and viewer.app and _LOCAL_PATH.match(path)):
            log.warning(
                "hls start without the headers nginx sets (X-Real-IP, X-Original-URI, X-Sevu-App)"
            )
            await _answer(send, 403)
            return
        try:
            decision = await run_in_threadpool(self.gate.start, viewer)
        except StoreUnavailable:
            await _answer(send, 503)
            return
        if not decision.allowed:
            await _answer(send, 403)
            return
        location = f"{path}?s={quote(decision.session, safe='.')}"
        await _answer(send, 302, ((b"location", location.encode("latin-1")),))


class HlsCheck(_Route):
    """nginx ``auth_request`` for playlists of a running session."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.trusted(scope):
            await _answer(send, 403)
            return
        headers = _headers(scope)
        token = _session_of(headers.get(b"x-original-uri", b""))
        viewer = _hls_viewer(headers)
        seconds = _segment_seconds(headers)
        decision: Decision | None = None
        if token and viewer.address:
            decision = self.gate.continue_cached(viewer, token, seconds)
        if decision is None:
            try:
                decision = await run_in_threadpool(self.gate.resume, viewer, token, seconds)
            except StoreUnavailable:
                await _answer(send, 503)
                return
        if not decision.allowed:
            await _answer(send, 403)
            return
        await _answer(send, 200, ((b"x-sevu-query", decision.query.encode("latin-1")),))


async def _form(scope: Scope, receive: Receive) -> dict[str, str] | None:
    """nginx-rtmp's urlencoded notification body, or None when it is too large."""
    try:
        body = await read_body(receive, _headers(scope).get(b"content-length", b""), _MAX_FORM)
    except PayloadTooLarge:
        return None
    return {name: values[0] for name, values in parse_qs(body.decode("latin-1")).items()}


def _with_connection_args(fields: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """Credentials given on the connection URL (``rtmp://host/app?key=…``) where the play or
    publish name carried none."""
    if all(fields.get(name) for name in names):
        return fields
    from_tcurl = _query(fields.get("tcurl", ""))
    return {
        **{n: from_tcurl[n] for n in names if n in from_tcurl},
        **{k: v for k, v in fields.items() if v},
    }


class _RtmpNotification(_Route):
    """An nginx-rtmp notification (an urlencoded POST): 200 lets the client go on, anything
    else closes its connection."""

    # The credentials it reads, from the form or else from the connection URL.
    credentials: tuple[str, ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            fields = await _form(scope, receive)
        except ClientGone:
            return
        if fields is None or not self.trusted(scope):
            await _answer(send, 403)
            return
        fields = _with_connection_args(fields, self.credentials)
        try:
            allowed = await run_in_threadpool(self.decide, fields)
        except StoreUnavailable:
            await _answer(send, 503)
            return
        await _answer(send, 200 if allowed else 403)

    def decide(self, fields: dict[str, str]) -> bool:
        raise NotImplementedError


class RtmpPlay(_RtmpNotification):
    """nginx-rtmp ``on_play``: a play is a start."""

    credentials = ("key", "pass")

    def decide(self, fields: dict[str, str]) -> bool:
        viewer = Viewer(
            "rtmp",
            fields.get("addr", ""),
            fields.get("app", ""),
            fields.get("name", ""),
            fields.get("key", ""),
            fields.get("pass", ""),
        )
        return self.gate.start(viewer).allowed


class RtmpPublish(_RtmpNotification):
    """nginx-rtmp ``on_publish``: the stream users of the application and stream."""

    credentials = ("user", "pass")

    def decide(self, fields: dict[str, str]) -> bool:
        app, stream, user = fields.get("app", ""), fields.get("name", ""), fields.get("user", "")
        allowed = self.gate.may_publish(app, stream, user, fields.get("pass", ""))
        log.info(
            "publish %s/%s by %r from %s: %s",
            app,
            stream,
            user,
            fields.get("addr", ""),
            "allowed" if allowed else "refused",
        )
        return allowed


def build_gate(context: ServiceContext) -> TicketGate:
    return TicketGate(
        context.settings,
        context.engine,
        context.box.derive_key(SESSION_PURPOSE),
        context.box.derive_key(LINK_PURPOSE).hex(),
    )


def routes(context: ServiceContext) -> list[BaseRoute]:
    gate = build_gate(context)
    trusted = _TrustedServers(context.settings.ticket_trusted_servers)
    return [
        Route(START_PATH, HlsStart(gate, trusted), methods=["GET"]),
        Route(CHECK_PATH, HlsCheck(gate, trusted), methods=["GET"]),
        Route(PLAY_PATH, RtmpPlay(gate, trusted), methods=["POST"]),
        Route(PUBLISH_PATH, RtmpPublish(gate, trusted), methods=["POST"]),
    ]

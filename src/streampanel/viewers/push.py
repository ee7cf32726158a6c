"""The push route: streaming servers that count their own viewers report them here.

    POST /viewers/push[?complete=1[&protocol=P&time=T]]
    Authorization: Bearer <the server's ingest token>
    Content-Type: application/json

    [{"time": 1700000000, "vhost": "_defaultVHost_", "app": "live", "stream": "cam1",
      "viewers": 12, "protocol": "rtmp"}, ...]

``time`` is unix seconds or ``YYYY-MM-DD HH:MM:SS`` (UTC); ``protocol`` is optional (default
``rtmp``).  The token names the server (``streampanel admin server ingest-token NAME``), so a
server can only report for itself; it is not an account key and opens nothing else.  With
``complete=1`` each (time, protocol) group is the server's whole state, so streams it does not
list have ended; an empty list names its group in the query (``protocol`` and ``time``): the
server has no stream of that protocol any more.  Answers use the API's envelope with real HTTP
statuses (503 while the store is unreachable); each request is logged in one line like the
API's and counted in ``/metrics`` (``streampanel_push_requests`` by status).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streampanel.api import failure_outcome
from streampanel.asgi import ClientGone, read_body
from streampanel.errors import ApiError, AuthenticationFailed, BadRequest, StoreUnavailable
from streampanel.protocol import envelope
from streampanel.protocol.request import as_integer, decode_json, is_int
from streampanel.service import ServiceContext
from streampanel.store.outage import is_unavailable
from streampanel.store.viewers import StreamCount, server_for_token
from streampanel.viewers.snapshots import store_reports

PATH = "/viewers/push"
MAX_ITEMS = 50_000
# Reports from the future beyond clock skew are refused; the past is bounded by retention.
MAX_FUTURE_SECONDS = 300
_LIMITS = {"vhost": 200, "app": 200, "stream": 500, "protocol": 20}
# The store's viewer counts are 32-bit integers.
MAX_VIEWERS = 2**31 - 1
# What the route answers with the status it is (any other ApiError is a 500, a bug).
_STATUSES = {400, 401, 413, 503}

access_log = logging.getLogger("streampanel.access")


class InvalidReport(BadRequest):
    def __init__(self, index: int, field: str, expected: str):
        super().__init__(f"Invalid report item {index} '{field}': expected {expected}")


def _time(value: Any) -> int | None:
    """Unix seconds (bounded as every client integer is: see ``as_integer``) or UTC text."""
    seconds = as_integer(value)
    if seconds is not None:
        return seconds
    if isinstance(value, str):
        try:
            moment = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
        return int(moment.replace(tzinfo=UTC).timestamp())
    return None


def parse_report(
    body: Any, now: float, retention_days: float
) -> dict[tuple[str, int], list[StreamCount]]:
    """Validate a pushed list; returns counts grouped by (protocol, time)."""
    if not isinstance(body, list):
        raise BadRequest("The body must be a JSON list of {time, vhost, app, stream, viewers}")
    if len(body) > MAX_ITEMS:
        raise BadRequest(f"At most {MAX_ITEMS} items per push")
    oldest = now - retention_days * 86400
    groups: dict[tuple[str, int], list[StreamCount]] = defaultdict(list)
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise InvalidReport(index, "item", "an object")
        at = _time(item.get("time"))
        if at is None or not oldest <= at <= now + MAX_FUTURE_SECONDS:
            raise InvalidReport(
                index,
                "time",
                "unix seconds or YYYY-MM-DD HH:MM:SS (UTC) "
                "within the retention and not in the future",
            )
        texts: dict[str, str] = {}
        for field in ("vhost", "app", "stream", "protocol"):
            value = item.get(field, "rtmp" if field == "protocol" else None)
            # No NUL: PostgreSQL text cannot hold it.
            if (
                not isinstance(value, str)
                or not value
                or len(value) > _LIMITS[field]
                or "\x00" in value
            ):
                raise InvalidReport(
                    index, field, f"a non-empty string of at most {_LIMITS[field]} characters"
                )
            texts[field] = value
        viewers = item.get("viewers")
        if not is_int(viewers) or not 0 <= viewers <= MAX_VIEWERS:
            raise InvalidReport(index, "viewers", f"an integer from 0 to {MAX_VIEWERS}")
        groups[(texts["protocol"], at)].append(
            StreamCount(texts["vhost"], texts["app"], texts["stream"], viewers)
        )
    return groups


def ended_report(
    query: Mapping[str, str], now: float, retention_days: float
) -> dict[tuple[str, int], list[StreamCount]]:
    """The group of an empty complete report, named by the query: no stream of ``protocol``
    at ``time`` (a list without items names no group of its own)."""
    protocol = query.get("protocol", "")
    if not protocol or len(protocol) > _LIMITS["protocol"]:
        raise BadRequest(
            f"Invalid query 'protocol': expected a non-empty string of at most "
            f"{_LIMITS['protocol']} characters"
        )
    at = _time(query.get("time"))
    if at is None or not now - retention_days * 86400 <= at <= now + MAX_FUTURE_SECONDS:
        raise BadRequest(
            "Invalid query 'time': expected unix seconds within the retention and not in the future"
        )
    return {(protocol, at): []}


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    return request.headers.get("x-ingest-token", "").strip()


def _answer(body: dict[str, Any], status: int) -> Response:
    return Response(envelope.render(body), status_code=status, media_type="application/json")


async def push(context: ServiceContext, request: Request) -> Response:
    started = time.perf_counter()
    rows = 0
    try:
        raw = await read_body(
            request.receive,
            request.headers.get("content-length", ""),
            context.settings.max_body_bytes,
        )
        token = _bearer(request)

        def store() -> int:
            with context.engine.connect() as conn:
                found = server_for_token(conn, token)
            if found is None:
                raise AuthenticationFailed()
            body = decode_json(raw, "Body")
            now, retention = time.time(), context.settings.viewer_retention_days
            groups = parse_report(body, now, retention)
            complete = request.query_params.get("complete", "") in {"1", "true", "yes"}
            if complete and not groups and "protocol" in request.query_params:
                groups = ended_report(request.query_params, now, retention)
            rows = 0
            by_protocol: dict[str, list[tuple[int, list[StreamCount]]]] = defaultdict(list)
            for (protocol, at), counts in sorted(groups.items(), key=lambda g: g[0][1]):
                by_protocol[protocol].append((at, counts))
            for protocol, reports in by_protocol.items():
                rows += store_reports(
                    context.engine, found[1], protocol, reports, complete=complete
                ).rows
            return rows

        try:
            rows = await run_in_threadpool(store)
        except SQLAlchemyError as exc:
            # An outage is a 503 (logged once by the store's watch); anything else a bug.
            if not is_unavailable(exc):
                raise
            raise StoreUnavailable() from None
    except ClientGone:
        return Response(status_code=400)  # nobody is listening
    except ApiError as error:
        status = error.code if error.code in _STATUSES else 500
        return _answered(context, request, failure_outcome(error, started).body, status, started)
    body = envelope.done(f"Stored {rows} viewer rows", time.perf_counter() - started)
    context.metrics.push_rows.inc(rows)
    return _answered(context, request, body, 200, started)


def _answered(
    context: ServiceContext, request: Request, body: dict[str, Any], status: int, started: float
) -> Response:
    """The answer, counted and logged as one line like the API's requests (no token)."""
    elapsed = time.perf_counter() - started
    context.metrics.push_requests.labels(str(status)).inc()
    if access_log.isEnabledFor(logging.INFO):
        client = request.client
        access_log.info(
            json.dumps(
                {
                    "event": "request",
                    "path": PATH,
                    "status": status,
                    "message": body.get("message"),
                    "ms": round(elapsed * 1000, 2),
                    "client": client.host if client else None,
                }
            )
        )
    return _answer(body, status)


def routes(context: ServiceContext) -> list[Route]:
    return [Route(PATH, partial(push, context), methods=["POST"])]

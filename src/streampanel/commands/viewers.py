"""viewer.livedetailed: live viewers per server, vhost, application and stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streampanel.commands.context import CallContext
from streampanel.commands.params import (
    APP_EXPECTED,
    DATETIME_EXPECTED,
    URL_EXPECTED,
    AppSelector,
    DateTimeParam,
    NonNegativeInt,
    Params,
    StreamPatterns,
    expected,
)
from streampanel.commands.registry import command
from streampanel.errors import InvalidParameter
from streampanel.settings import Settings
from streampanel.store import viewers

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
# What the documentation can promise: the operator may configure another retention.
DEFAULT_RETENTION_DAYS: int = Settings.model_fields["viewer_retention_days"].default


class LiveDetailedParams(Params):
    app: AppSelector = expected(APP_EXPECTED)
    url: StreamPatterns = expected(URL_EXPECTED)
    starttime: DateTimeParam | None = expected(DATETIME_EXPECTED, default=None)
    endtime: DateTimeParam | None = expected(DATETIME_EXPECTED, default=None)
    limit: NonNegativeInt = expected(f"an integer from 1 to {MAX_LIMIT}", default=DEFAULT_LIMIT)
    offset: NonNegativeInt = expected("a non-negative integer", default=0)


def _unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _updated(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _range(ctx: CallContext, params: LiveDetailedParams) -> tuple[int, int]:
    retention_start = ctx.now - timedelta(days=ctx.settings.viewer_retention_days)
    start = params.starttime or retention_start
    end = params.endtime or ctx.now
    if start < retention_start - timedelta(days=1):
        # A day of grace: "the last N days" computed on the client's clock still answers.
        raise InvalidParameter(
            "starttime",
            f"{DATETIME_EXPECTED} within the {ctx.settings.viewer_retention_days}-day "
            "retention of live viewer data",
        )
    if end < start:
        raise InvalidParameter("endtime", f"{DATETIME_EXPECTED} not before starttime")
    return _unix(start), _unix(end)


@command(
    "viewer.livedetailed",
    params=LiveDetailedParams,
    message="Found Viewer Data",
    summary=(
        "Live viewers per server, vhost, application and stream: the latest snapshot of each "
        "server, or every snapshot in a starttime/endtime range (oldest first, paged with "
        f"limit/offset). Rows are kept for the server's retention ({DEFAULT_RETENTION_DAYS} days "
        "unless configured otherwise)."
    ),
)
def live_detailed(ctx: CallContext, params: LiveDetailedParams) -> list[dict[str, Any]]:
    apps = [a["name"] for a in ctx.resolve_applications(params.app)]
    if not 1 <= params.limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"an integer from 1 to {MAX_LIMIT}")
    if params.starttime is None and params.endtime is None:
        rows = viewers.live_rows(ctx.conn, apps, params.url, params.limit, params.offset)
    else:
        start, end = _range(ctx, params)
        rows = viewers.range_rows(
            ctx.conn, apps, params.url, start, end, params.limit, params.offset
        )
    # A range answer repeats each minute once per stream: format each time once.
    updated: dict[int, str] = {}
    return [
        {
            "updated": updated.get(at) or updated.setdefault(at, _updated(at)),
            "server": server,
            "location": location,
            "vhost": vhost,
            "app": app,
            "stream": stream,
            "viewers": viewers_,
            "protocol": protocol,
        }
        for at, server, location, vhost, app, stream, protocol, viewers_ in rows
    ]

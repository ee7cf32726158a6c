"""Usage commands: traffic per server and day (``video.servers``), disk per storage user
and day (``disk.usage``).  Both answer 30-day periods from totals kept per day at ingest.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator

from streampanel.commands.context import CallContext
from streampanel.commands.params import (
    APP_EXPECTED,
    STARTTIME_EXPECTED,
    AppSelector,
    Params,
    StartDate,
    expected,
)
from streampanel.commands.registry import command
from streampanel.errors import InvalidParameter, UnknownObject
from streampanel.store import usage


def _optional_start(value: Any) -> Any:
    # Form-built clients send an empty member for "not given".
    return None if value == "" else value


def _storage_users(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        raise ValueError("not a storage user name")
    if items == [""]:
        return []  # '' means every storage user of the account
    if any(not item for item in items):
        raise ValueError("empty name in an array")
    return list(dict.fromkeys(items))


OptionalStartDate = Annotated[StartDate | None, BeforeValidator(_optional_start)]
StorageUsers = Annotated[list[str], BeforeValidator(_storage_users)]
CPU_EXPECTED = "a storage user name, an array of them, or '' for all"


class VideoServersParams(Params):
    app: AppSelector = expected(APP_EXPECTED)
    starttime: OptionalStartDate = expected(STARTTIME_EXPECTED, default=None)


class DiskUsageParams(Params):
    cpu: StorageUsers = expected(CPU_EXPECTED)
    starttime: StartDate = expected(STARTTIME_EXPECTED)


def _period(start: date | None, today: date) -> tuple[date, date]:
    try:
        return usage.period(start, today)
    except OverflowError:
        raise InvalidParameter("starttime", STARTTIME_EXPECTED) from None


@command(
    "video.servers",
    params=VideoServersParams,
    message="Found Video Region Data",
    summary="Bytes and requests per day and server for 30 days, summed over the applications.",
)
def video_servers(ctx: CallContext, params: VideoServersParams) -> list[dict[str, Any]]:
    apps = ctx.resolve_applications(params.app)
    first, last = _period(params.starttime, ctx.now.date())
    return usage.server_days(ctx.conn, [a["id"] for a in apps], first, last)


@command(
    "disk.usage",
    params=DiskUsageParams,
    message="Found Disk Data",
    summary="Disk bytes per day and storage user for the 30 days from starttime.",
    payload_key="usage",
)
def disk_usage(ctx: CallContext, params: DiskUsageParams) -> list[dict[str, Any]]:
    try:
        first, last = _period(params.starttime, ctx.now.date())
    except InvalidParameter:
        # An unknown storage user is still the answer first: read the names alone.
        _check_storage_users(usage.account_disk_days(ctx.conn, ctx.account_id, None, None), params)
        raise
    figures = usage.account_disk_days(ctx.conn, ctx.account_id, first, last)
    _check_storage_users(figures, params)
    wanted = set(params.cpu)
    return [
        {"summary_date": day, "cpu_user": name, "bytes_total": size}
        for day, name, size in figures.rows
        if not wanted or name in wanted
    ]


def _check_storage_users(figures: usage.DiskDays, params: DiskUsageParams) -> None:
    for name in params.cpu:
        if name not in figures.users:
            raise UnknownObject("storage user", name)

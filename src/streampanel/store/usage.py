"""Usage queries: adding traffic totals and disk figures, and reading them.  (Ingest
checkpoints: ``streampanel.ingest.checkpoints``.)

Writers add to daily totals with one ``INSERT ... ON CONFLICT DO UPDATE`` per batch (both
stores support it), compiled once and executed by the driver, so a block of a log file costs
one ``executemany`` per table.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, Dialect, Table, and_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from streampanel.store.driverquery import DriverQuery, in_list
from streampanel.store.tables import servers, storage_users
from streampanel.store.tables.usage import (
    disk_usage,
    usage_daily,
    usage_unattributed,
)

PERIOD_DAYS = 30


def _upsert(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    keys: tuple[str, ...],
    add: tuple[str, ...] = (),
    replace: tuple[str, ...] = (),
) -> None:
    """Insert ``rows``; where one with the same ``keys`` exists, add to its ``add`` columns
    and replace its ``replace`` columns.  One ``executemany`` of the driver."""
    if not rows:
        return
    upsert = _compiled_upsert(conn.dialect, table, tuple(rows[0]), keys, add, replace)
    conn.exec_driver_sql(upsert.sql, upsert.parameters(rows))


@dataclass(frozen=True)
class _Upsert:
    sql: str
    # Parameter names in order, for drivers taking positional parameters (SQLite's ``?``);
    # None for named ones (psycopg's ``%(name)s``).
    order: tuple[str, ...] | None
    # Columns whose values the dialect converts (SQLite stores dates as ISO text).
    conversions: tuple[tuple[str, Callable[[Any], Any]], ...]

    def parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        for name, convert in self.conversions:
            # A batch holds few distinct values of a converted column (a block's days).
            converted = {value: convert(value) for value in {row[name] for row in rows}}
            rows = [row | {name: converted[row[name]]} for row in rows]
        if self.order is None:
            return rows
        return list(map(operator.itemgetter(*self.order), rows))


@functools.lru_cache(maxsize=64)
def _compiled_upsert(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    add: tuple[str, ...],
    replace: tuple[str, ...],
) -> _Upsert:
    # Compiled once and executed by the driver: building ``excluded`` and SQLAlchemy's
    # handling of each row's parameters cost more than the upsert of a log's block itself.
    insert = (postgresql if dialect.name == "postgresql" else sqlite).insert(table)
    values = {c: table.c[c] + insert.excluded[c] for c in add}
    values.update({c: insert.excluded[c] for c in replace})
    compiled = insert.on_conflict_do_update(index_elements=list(keys), set_=values).compile(
        dialect=dialect, column_keys=list(columns)
    )
    conversions = tuple(
        (name, convert)
        for name in columns
        if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    )
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return _Upsert(str(compiled), order, conversions)


# -- traffic totals ---------------------------------------------------------------------


def add_usage(conn: Connection, server_id: int, rows: Iterable[tuple[int, date, int, int]]) -> None:
    """Add ``(application_id, day, bytes, requests)`` totals for one server."""
    batch = [
        {"application_id": a, "day": d, "server_id": server_id, "bytes": b, "requests": r}
        for a, d, b, r in rows
    ]
    _upsert(
        conn, usage_daily, batch, ("application_id", "day", "server_id"), add=("bytes", "requests")
    )


def add_unattributed(
    conn: Connection, server_id: int, rows: Iterable[tuple[date, str, int, int]]
) -> None:
    """Add ``(day, app name, bytes, requests)`` of lines no application claimed."""
    batch = [
        {"day": d, "server_id": server_id, "app": app[:200], "bytes": b, "requests": r}
        for d, app, b, r in rows
    ]
    _upsert(conn, usage_unattributed, batch, ("day", "server_id", "app"), add=("bytes", "requests"))


def period(start: date | None, today: date) -> tuple[date, date]:
    """The 30 days starting ``start`` (inclusive bounds), or the 30 days ending today."""
    first = start if start is not None else today - timedelta(days=PERIOD_DAYS - 1)
    return first, first + timedelta(days=PERIOD_DAYS - 1)


# The read commands' queries: compiled once, run on the driver (see ``DriverQuery``).
# Totals per day and server id first, server names joined to those few rows after: joining
# every usage row to its server before grouping cost PostgreSQL twice the work.
_DAY_TOTALS = (
    select(
        usage_daily.c.day,
        usage_daily.c.server_id,
        # BIGINT: PostgreSQL's sum of BIGINTs is NUMERIC, which the driver makes a Decimal.
        cast(func.sum(usage_daily.c.bytes), BigInteger).label("bytes"),
        cast(func.sum(usage_daily.c.requests), BigInteger).label("requests"),
    )
    .where(
        in_list(usage_daily.c.application_id, bindparam("applications")),
        usage_daily.c.day >= bindparam("first"),
        usage_daily.c.day <= bindparam("last"),
    )
    .group_by(usage_daily.c.day, usage_daily.c.server_id)
    .subquery("day_totals")
)
_SERVER_DAY_TOTALS = DriverQuery(
    select(
        _DAY_TOTALS.c.day, servers.c.name, _DAY_TOTALS.c.bytes, _DAY_TOTALS.c.requests
    ).join_from(_DAY_TOTALS, servers, servers.c.id == _DAY_TOTALS.c.server_id)
)


def server_days(
    conn: Connection, application_ids: Sequence[int], first: date, last: date
) -> list[dict[str, Any]]:
    """``video.servers``: per day and server, totals over the applications, zero-filled.

    Every server that served any of the applications in the period gets a row for every
    day of the period; rows are sorted by date, then server name.
    """
    found = _SERVER_DAY_TOTALS.rows(
        conn, {"applications": list(application_ids), "first": first, "last": last}
    )
    if not found:
        return []
    totals = {(day, name): (sent, requests) for day, name, sent, requests in found}
    names = sorted({name for _, name in totals})
    zero = (0, 0)
    rows: list[dict[str, Any]] = []
    for offset in range((last - first).days + 1):
        iso = (first + timedelta(days=offset)).isoformat()
        for name in names:
            sent, requests = totals.get((iso, name), zero)
            rows.append(
                {"date": iso, "server": name, "bytes_total": sent, "requests_total": requests}
            )
    return rows


def unattributed(conn: Connection, server_id: int | None = None) -> list[dict[str, Any]]:
    query = select(usage_unattributed).order_by(
        usage_unattributed.c.day, usage_unattributed.c.server_id, usage_unattributed.c.app
    )
    if server_id is not None:
        query = query.where(usage_unattributed.c.server_id == server_id)
    return [dict(r) for r in conn.execute(query).mappings()]


# -- disk usage -------------------------------------------------------------------------


def record_disk_usage(
    conn: Connection, day: date, figures: dict[int, int], measured: datetime
) -> None:
    """Store each storage user's bytes for ``day``, replacing that day's earlier figure."""
    rows = [
        {"storage_user_id": user_id, "day": day, "bytes": size, "measured": measured}
        for user_id, size in figures.items()
    ]
    _upsert(conn, disk_usage, rows, ("storage_user_id", "day"), replace=("bytes", "measured"))


# Every storage user of the account with its figures in the period (none: one row of NULLs),
# so the command checks the names it was given and reads the figures in one round trip.
_ACCOUNT_DISK_DAYS = DriverQuery(
    select(storage_users.c.name, disk_usage.c.day, disk_usage.c.bytes)
    .select_from(storage_users)
    .outerjoin(
        disk_usage,
        and_(
            disk_usage.c.storage_user_id == storage_users.c.id,
            disk_usage.c.day >= bindparam("first"),
            disk_usage.c.day <= bindparam("last"),
        ),
    )
    .where(storage_users.c.account_id == bindparam("account_id"))
    .order_by(disk_usage.c.day, storage_users.c.name)
)


@dataclass(frozen=True)
class DiskDays:
    """An account's disk figures over a period: its storage users' names, and a row per
    measured day and user ``(day, name, bytes)``, sorted by date then user name."""

    users: frozenset[str]
    rows: list[tuple[str, str, int]]


def account_disk_days(
    conn: Connection, account_id: int, first: date | None, last: date | None
) -> DiskDays:
    """``disk.usage``'s figures: every storage user of the account, and their days (none
    without a period)."""
    found = _ACCOUNT_DISK_DAYS.rows(conn, {"account_id": account_id, "first": first, "last": last})
    users = frozenset(name for name, _, _ in found)
    rows = [(day, name, size) for name, day, size in found if day is not None]
    return DiskDays(users, rows)

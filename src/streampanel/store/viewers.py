"""Live-viewer snapshots: recording polls and pushes, the two query shapes, and purge.

A *snapshot* is what one server reported at one time for one protocol: a viewer count per
(vhost, app, stream).  Recording a snapshot updates each stream's latest row in
``viewer_streams`` and appends to ``viewer_snapshots``.  A *complete* snapshot (a collector's
poll: the server's whole state) also closes the streams it no longer lists with one zero row,
so "live now" drops them and history shows where they ended.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from streampanel.store.driverquery import DriverQuery, code_point_order, in_list, like_any
from streampanel.store.tables import servers
from streampanel.store.tables.viewers import viewer_snapshots, viewer_streams


@dataclass(frozen=True)
class StreamCount:
    """One stream's viewer count in a snapshot."""

    vhost: str
    app: str
    stream: str
    viewers: int
    # The count came from <nclients> minus the publisher because no clients were listed.
    estimated: bool = False


@dataclass(frozen=True)
class RecordResult:
    rows: int
    closed: int


# Stream ids per purge statement (bound parameters stay well under every driver's limit).
_PURGE_CHUNK = 500


def _merge(counts: Iterable[StreamCount]) -> dict[tuple[str, str, str], StreamCount]:
    # The same stream reported twice in one snapshot (several <server> blocks) is summed.
    merged: dict[tuple[str, str, str], StreamCount] = {}
    for count in counts:
        key = (count.vhost, count.app, count.stream)
        seen = merged.get(key)
        if seen is None:
            merged[key] = count
        else:
            merged[key] = StreamCount(
                *key, seen.viewers + count.viewers, seen.estimated or count.estimated
            )
    return merged


def _upsert_snapshots(conn: Connection, rows: list[dict[str, Any]]) -> None:
    # A second report for the same stream and second replaces the first (idempotent replays).
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(viewer_snapshots)
    statement = statement.on_conflict_do_update(
        index_elements=["stream_id", "time"],
        set_={"viewers": statement.excluded.viewers, "estimated": statement.excluded.estimated},
    )
    conn.execute(statement, rows)


def _stream_ids(
    conn: Connection, server_id: int, protocol: str, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Rows of ``viewer_streams`` for the keys, creating the missing ones."""
    wanted = set(keys)
    known: dict[tuple[str, str, str], dict[str, Any]] = {}
    query = select(viewer_streams).where(
        viewer_streams.c.server_id == server_id, viewer_streams.c.protocol == protocol
    )
    for row in conn.execute(query).mappings():
        key = (row["vhost"], row["app"], row["stream"])
        known[key] = dict(row)
    missing = [k for k in wanted if k not in known]
    if missing:
        # Two reporters of one server may create the same stream at once: first one wins.
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(viewer_streams).on_conflict_do_nothing(
                index_elements=["server_id", "vhost", "app", "stream", "protocol"]
            ),
            [
                {
                    "server_id": server_id,
                    "vhost": v,
                    "app": a,
                    "stream": s,
                    "protocol": protocol,
                    "last_time": 0,
                    "last_viewers": 0,
                    "live": False,
                }
                for v, a, s in missing
            ],
        )
        for row in conn.execute(query).mappings():
            known.setdefault((row["vhost"], row["app"], row["stream"]), dict(row))
    return known


def record_snapshot(
    conn: Connection,
    server_id: int,
    protocol: str,
    time: int,
    counts: Iterable[StreamCount],
    *,
    complete: bool = True,
    vhosts: Collection[str] | None = None,
) -> RecordResult:
    """Store one server's report at ``time`` (unix seconds).

    ``complete`` says the report lists every stream the server has for ``protocol`` (in
    ``vhosts``, when given: a collector reports one vhost): streams it no longer lists get a
    zero row and leave "live now".  A report older than a stream's latest row goes to
    history only.
    """
    merged = _merge(counts)
    streams = _stream_ids(conn, server_id, protocol, merged)
    snapshot_rows: list[dict[str, Any]] = []
    latest_rows: list[dict[str, Any]] = []
    for key, count in merged.items():
        stream = streams[key]
        snapshot_rows.append(
            {
                "stream_id": stream["id"],
                "time": time,
                "viewers": count.viewers,
                "estimated": count.estimated,
            }
        )
        if time >= stream["last_time"]:
            latest_rows.append({"sid": stream["id"], "t": time, "v": count.viewers, "l": True})
    closed = 0
    if complete:
        for key, stream in streams.items():
            if (
                key not in merged
                and stream["live"]
                and stream["last_time"] <= time
                and (vhosts is None or key[0] in vhosts)
            ):
                snapshot_rows.append(
                    {"stream_id": stream["id"], "time": time, "viewers": 0, "estimated": False}
                )
                latest_rows.append({"sid": stream["id"], "t": time, "v": 0, "l": False})
                closed += 1
    _upsert_snapshots(conn, snapshot_rows)
    if latest_rows:
        conn.execute(
            update(viewer_streams)
            .where(viewer_streams.c.id == bindparam("sid"))
            .values(last_time=bindparam("t"), last_viewers=bindparam("v"), live=bindparam("l")),
            latest_rows,
        )
    return RecordResult(rows=len(snapshot_rows), closed=closed)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_ROW_COLUMNS = (
    servers.c.name.label("server"),
    servers.c.location,
    viewer_streams.c.vhost,
    viewer_streams.c.app,
    viewer_streams.c.stream,
    viewer_streams.c.protocol,
)


# Rows of both queries are plain tuples (thousands per answer: no mappings): time, server,
# location, vhost, app, stream, protocol, viewers.
ViewerRow = tuple[int, str, str, str, str, str, str, int]


def _patterns(patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Stream patterns as exact names and LIKE patterns (``*`` matches any run)."""
    exact = [p for p in patterns if "*" not in p]
    likes = ["%".join(_like_escape(part) for part in p.split("*")) for p in patterns if "*" in p]
    return exact, likes


# The selection of both query shapes, with lists bound as parameters: each query is compiled
# once and run on the driver (``DriverQuery``), whatever the request's lists.
_SELECTED = and_(
    in_list(viewer_streams.c.app, bindparam("apps")),
    or_(
        in_list(viewer_streams.c.stream, bindparam("exact")),
        like_any(viewer_streams.c.stream, bindparam("likes")),
    ),
)
_LIVE_ROWS = DriverQuery(
    select(viewer_streams.c.last_time, *_ROW_COLUMNS, viewer_streams.c.last_viewers)
    .join(servers, servers.c.id == viewer_streams.c.server_id)
    .where(_SELECTED, viewer_streams.c.live == true())
    .order_by(
        servers.c.name,
        viewer_streams.c.vhost,
        viewer_streams.c.app,
        viewer_streams.c.stream,
        viewer_streams.c.protocol,
    )
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
# The range: the few matching streams first, ranked by their names, then the big table read
# by primary key (stream, time) for them alone.  Ties within a minute sort by the streams'
# names, as Python sorts them, keeping pages deterministic on both stores.
_CHOSEN = (
    select(
        viewer_streams.c.id,
        *_ROW_COLUMNS,
        func.row_number()
        .over(
            order_by=[
                code_point_order(servers.c.name),
                code_point_order(viewer_streams.c.vhost),
                code_point_order(viewer_streams.c.app),
                code_point_order(viewer_streams.c.stream),
                code_point_order(viewer_streams.c.protocol),
            ]
        )
        .label("rank"),
    )
    .join(servers, servers.c.id == viewer_streams.c.server_id)
    .where(_SELECTED)
    .cte("chosen")
)
_RANGE_ROWS = DriverQuery(
    select(
        viewer_snapshots.c.time,
        _CHOSEN.c.server,
        _CHOSEN.c.location,
        _CHOSEN.c.vhost,
        _CHOSEN.c.app,
        _CHOSEN.c.stream,
        _CHOSEN.c.protocol,
        viewer_snapshots.c.viewers,
    )
    .join_from(viewer_snapshots, _CHOSEN, _CHOSEN.c.id == viewer_snapshots.c.stream_id)
    .where(
        viewer_snapshots.c.time >= bindparam("start"),
        viewer_snapshots.c.time <= bindparam("end"),
    )
    .order_by(viewer_snapshots.c.time, _CHOSEN.c.rank)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def live_rows(
    conn: Connection, apps: Sequence[str], patterns: Sequence[str], limit: int, offset: int
) -> list[ViewerRow]:
    """The latest snapshot of each server for the matching streams that are live."""
    exact, likes = _patterns(patterns)
    found = _LIVE_ROWS.rows(
        conn,
        {"apps": list(apps), "exact": exact, "likes": likes, "limit": limit, "offset": offset},
    )
    # The driver's tuples, in ViewerRow's order.
    return cast(list[ViewerRow], found)


def range_rows(
    conn: Connection,
    apps: Sequence[str],
    patterns: Sequence[str],
    start: int,
    end: int,
    limit: int,
    offset: int,
) -> list[ViewerRow]:
    """Every snapshot row of the matching streams with ``start <= time <= end``, oldest first
    (then by server, vhost, app, stream, protocol)."""
    exact, likes = _patterns(patterns)
    found = _RANGE_ROWS.rows(
        conn,
        {
            "apps": list(apps),
            "exact": exact,
            "likes": likes,
            "start": start,
            "end": end,
            "limit": limit,
            "offset": offset,
        },
    )
    return cast(list[ViewerRow], found)


def purge(conn: Connection, before: int) -> int:
    """Delete snapshots older than ``before`` (unix seconds); returns how many.

    Deleted stream by stream: each is one contiguous range of the primary key, which is
    far cheaper than visiting rows in time order.  Streams whose latest row is older too are
    deleted after their snapshots: nothing of them is left to show, live or in range.
    """
    ids = list(conn.execute(select(viewer_streams.c.id)).scalars())
    deleted = 0
    for chunk in range(0, len(ids), _PURGE_CHUNK):
        result = conn.execute(
            delete(viewer_snapshots).where(
                viewer_snapshots.c.stream_id.in_(ids[chunk : chunk + _PURGE_CHUNK]),
                viewer_snapshots.c.time < before,
            )
        )
        deleted += int(result.rowcount or 0)
    conn.execute(delete(viewer_streams).where(viewer_streams.c.last_time < before))
    return deleted


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_ingest_token(conn: Connection, server_id: int) -> str:
    """A new push-route token for the server, replacing any previous one; shown only here."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        update(servers)
        .where(servers.c.id == server_id)
        .values(ingest_token_hash=_token_hash(token))
    )
    return token


def server_for_token(conn: Connection, token: str) -> tuple[int, str] | None:
    """``(server id, name)`` of the server the ingest token belongs to."""
    if not token:
        return None
    row = conn.execute(
        select(servers.c.id, servers.c.name, servers.c.ingest_token_hash).where(
            servers.c.ingest_token_hash == _token_hash(token)
        )
    ).first()
    # The lookup is by hash; compare again in constant time so timing says nothing more.
    if row is None or not hmac.compare_digest(row.ingest_token_hash, _token_hash(token)):
        return None
    return int(row.id), str(row.name)

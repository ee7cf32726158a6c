"""nginx JSON lines: one JSON object per line, written by a ``log_format ... escape=json``.

Members used (the first present of each group wins):

- time: ``msec`` (unix seconds, exact UTC), else ``time_iso8601`` / ``time``
  (``2024-03-19T12:00:00+01:00``), else ``time_local`` (``19/Mar/2024:12:00:00 +0100``);
- URL: ``uri``, else ``request_uri``, else ``request`` (the request line);
- bytes: ``bytes_sent`` (headers included: what the CDN really sent), else
  ``body_bytes_sent``.

Numbers may be written quoted or bare.  Every line is one request.  docs/ingest.md has the
recommended ``log_format``.  Pure: bytes in, frames out.

``requests`` reads the lines as HTTP requests (HLS viewer counting): the time as above,
``remote_addr``, ``http_user_agent``, ``status``, and the target ``request_uri`` (with the
query, where session tokens are), else ``uri``, else ``request``'s.
"""

from __future__ import annotations

import json

import polars as pl

from streampanel.ingest.format_names import NGINX_JSON
from streampanel.ingest.formats.common import (
    AppPattern,
    BlockResult,
    Requests,
    empty_totals,
    local_key,
    rejected_lines,
    request_target,
    requests_of,
    split_lines,
    totals_from_local,
    unix_seconds,
)

NAME = NGINX_JSON
MEMBERS = (
    "msec",
    "time_iso8601",
    "time",
    "time_local",
    "uri",
    "request_uri",
    "request",
    "bytes_sent",
    "body_bytes_sent",
)
# Members only a request's view needs (who asked, and the answer).
REQUEST_MEMBERS = ("remote_addr", "http_user_agent", "status")
_STRUCT = pl.Struct({name: pl.String for name in MEMBERS})
_REQUEST_STRUCT = pl.Struct({name: pl.String for name in (*MEMBERS, *REQUEST_MEMBERS)})
_ISO_HOUR, _ISO_MINUTE = len("yyyy-mm-ddTHH"), len("yyyy-mm-ddTHH:MM")
_LOCAL_HOUR, _LOCAL_MINUTE = len("dd/Mon/yyyy:HH"), len("dd/Mon/yyyy:HH:MM")


def _lines(block: bytes) -> pl.Series:
    return pl.Series(
        "line", [line.decode("utf-8", "replace") for line in split_lines(block)], pl.String
    )


def _decode_slowly(lines: pl.Series, members: tuple[str, ...]) -> pl.DataFrame:
    records: list[dict[str, str | None]] = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            records.append(dict.fromkeys((*members, "_ok")))
            continue
        record = {name: None if value.get(name) is None else str(value[name]) for name in members}
        records.append(record | {"_ok": "1"})
    frame = pl.DataFrame(records, schema={**{n: pl.String for n in members}, "_ok": pl.String})
    return frame.with_columns(pl.col("_ok").is_not_null().alias("valid")).drop("_ok")


def parse_rows(block: bytes, struct: pl.Struct = _STRUCT) -> pl.DataFrame:
    """One row per line: the members of ``struct`` (``MEMBERS`` by default) as strings (null
    when absent), and ``valid``."""
    lines = _lines(block)
    try:
        decoded = lines.str.json_decode(struct).struct.unnest()
    except pl.exceptions.ComputeError:
        return _decode_slowly(lines, tuple(field.name for field in struct.fields))
    return decoded.with_columns(lines.str.starts_with("{").alias("valid"))


def requests(block: bytes) -> Requests:
    """The block's lines as HTTP requests (``common.REQUESTS_SCHEMA``)."""
    rows = parse_rows(block, _REQUEST_STRUCT)
    msec = pl.col("msec").cast(pl.Float64, strict=False).floor().cast(pl.Int64)
    iso, local = pl.coalesce(pl.col("time_iso8601"), pl.col("time")), pl.col("time_local")
    # The first time member present decides, as for the usage totals.
    time = (
        pl.when(msec.is_not_null())
        .then(msec)
        .when(iso.is_not_null())
        .then(unix_seconds(iso.str.slice(0, 19), "%Y-%m-%dT%H:%M:%S", iso.str.slice(19)))
        .otherwise(unix_seconds(local.str.slice(0, 20), "%d/%b/%Y:%H:%M:%S", local.str.slice(21)))
    )
    target = pl.coalesce(pl.col("request_uri"), pl.col("uri"), request_target(pl.col("request")))
    return requests_of(
        rows,
        [
            time.alias("time"),
            pl.col("remote_addr"),
            pl.col("http_user_agent").fill_null("").alias("user_agent"),
            target.alias("request_uri"),
            # An answer without a status is no success: not counted, but not unreadable.
            pl.col("status").cast(pl.Int64, strict=False).fill_null(0),
        ],
    )


def _utc_from_msec(frame: pl.DataFrame) -> pl.DataFrame:
    seconds = pl.col("msec").cast(pl.Float64, strict=False)
    return frame.with_columns(
        pl.from_epoch((seconds * 1000).cast(pl.Int64), time_unit="ms")
        .dt.strftime("%Y-%m-%dT%H")
        .alias("iso"),
    )


def parse(block: bytes, apps: AppPattern) -> BlockResult:
    rows = parse_rows(block)
    rows = _utc_from_msec(rows)
    url = pl.coalesce(pl.col("uri"), pl.col("request_uri"))
    app = (
        pl.when(url.is_not_null())
        .then(apps.from_path(url))
        .otherwise(apps.from_request(pl.col("request")))
    )
    sent = pl.coalesce(pl.col("bytes_sent"), pl.col("body_bytes_sent")).cast(pl.Int64, strict=False)
    iso = pl.coalesce(pl.col("time_iso8601"), pl.col("time"))
    # msec is already UTC; ISO times carry their zone after the seconds; time_local is the
    # combined format's "dd/Mon/yyyy:HH:MM:SS +hhmm".
    by_msec = rows.select(
        pl.col("iso").alias("key"),
        pl.lit("+0000").alias("tz"),
        app.alias("app"),
        sent.alias("bytes"),
        (pl.col("valid") & pl.col("iso").is_not_null() & sent.is_not_null()).alias("valid"),
    )
    iso_time, iso_tz = iso.str.slice(0, 19), iso.str.slice(19)
    by_iso = rows.select(
        local_key(iso_time, iso_tz, _ISO_HOUR, _ISO_MINUTE).alias("key"),
        iso_tz.alias("tz"),
        app.alias("app"),
        sent.alias("bytes"),
        (pl.col("valid") & pl.col("iso").is_null() & iso.is_not_null() & sent.is_not_null()).alias(
            "valid"
        ),
    )
    local = pl.col("time_local")
    local_time, local_tz = local.str.slice(0, 20), local.str.slice(21)
    by_local = rows.select(
        local_key(local_time, local_tz, _LOCAL_HOUR, _LOCAL_MINUTE).alias("key"),
        local_tz.alias("tz"),
        app.alias("app"),
        sent.alias("bytes"),
        (
            pl.col("valid")
            & pl.col("iso").is_null()
            & iso.is_null()
            & local.is_not_null()
            & sent.is_not_null()
        ).alias("valid"),
    )
    totals = []
    valid = pl.Series("valid", [False] * rows.height)
    for frame, minute_fmt, hour_len in (
        (by_msec, "%Y-%m-%dT%H:%M", _ISO_HOUR),
        (by_iso, "%Y-%m-%dT%H:%M", _ISO_HOUR),
        (by_local, "%d/%b/%Y:%H:%M", _LOCAL_HOUR),
    ):
        frame = frame.with_columns(pl.col("valid").fill_null(False))
        if not frame["valid"].any():
            continue
        done = totals_from_local(frame.lazy(), minute_fmt, hour_len)
        assert done is not None  # an in-memory frame always reads
        part, bad, _ = done
        part_valid = frame["valid"].clone().scatter(bad, False) if bad else frame["valid"]
        totals.append(part)
        valid = valid | part_valid
    combined = (
        pl.concat(totals)
        .group_by("day", "app")
        .agg(pl.col("bytes").sum(), pl.col("requests").sum())
        if totals
        else empty_totals()
    )
    return BlockResult(combined, rows.height, rejected_lines(block, valid, rows.height))

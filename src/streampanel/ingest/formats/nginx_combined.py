"""nginx's predefined ``combined`` log format (also Apache's)::

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    "$http_referer" "$http_user_agent"

Billed bytes are ``$body_bytes_sent``; every line is one request.  Pure: bytes in, frames out.

The fast path reads a block with polars' CSV reader (space-separated, ``"`` quoted: nginx
escapes quotes inside fields as ``\\x22``), which is multi-threaded and far faster than a
regex per line.  A block the CSV reader cannot split one row per line (a stray quote, bad
UTF-8) goes through a per-line regex instead, so one odd line costs one block's speed, not
correctness.

``parse_rows`` gives one row per line with the fields below as strings, ``time`` as
``dd/Mon/yyyy:HH:MM:SS`` and ``tz`` as ``+hhmm``, and ``valid``; ``requests`` reads those
rows as HTTP requests (time, client, User-Agent, target, status), which HLS viewer counting
uses.
"""

from __future__ import annotations

import polars as pl

from streampanel.ingest.format_names import NGINX_COMBINED
from streampanel.ingest.formats.common import (
    AppPattern,
    BlockResult,
    Requests,
    rejected_lines,
    request_target,
    requests_of,
    split_lines,
    totals_from_local,
    unix_seconds,
)

NAME = NGINX_COMBINED
FIELDS = (
    "remote_addr",
    "ident",
    "remote_user",
    "time",
    "tz",
    "request",
    "status",
    "bytes",
    "referer",
    "user_agent",
)
_CSV_SCHEMA = {name: pl.String for name in FIELDS}
_LINE = (
    r'^(\S+) (\S+) (.*?) \[([^\] ]+) ([^\]]+)\] "((?:[^"\\]|\\.)*)" (\S+) (\S+)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?'
)
_HOUR_LEN, _MINUTE_LEN = len("dd/Mon/yyyy:HH"), len("dd/Mon/yyyy:HH:MM")
_MINUTE = "%d/%b/%Y:%H:%M"


def _csv_rows(block: bytes) -> pl.LazyFrame:
    # time and tz as split: "[dd/Mon/yyyy:HH:MM:SS" and "+hhmm]".
    return pl.scan_csv(
        block,
        has_header=False,
        separator=" ",
        quote_char='"',
        schema=_CSV_SCHEMA,
        truncate_ragged_lines=True,
        missing_columns="insert",
        extra_columns="ignore",
    ).with_columns(pl.col("tz").is_not_null().alias("valid"))


def _regex_rows(block: bytes) -> pl.LazyFrame:
    text = pl.Series("line", [line.decode("utf-8", "replace") for line in split_lines(block)])
    rows = text.str.extract_groups(_LINE).struct.rename_fields(list(FIELDS)).struct.unnest()
    return rows.lazy().with_columns(
        ("[" + pl.col("time")).alias("time"),
        (pl.col("tz") + "]").alias("tz"),
        pl.col("remote_addr").is_not_null().alias("valid"),
    )


def parse_rows(block: bytes) -> pl.DataFrame:
    """One row per line of ``block`` (complete lines, ending with a newline): the fields
    above as strings (``time`` as ``dd/Mon/yyyy:HH:MM:SS``, ``tz`` as ``+hhmm``) and
    ``valid`` (the line has the format's shape)."""
    try:
        rows = _csv_rows(block).collect()
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError):
        rows = None
    if rows is None or rows.height != block.count(b"\n"):
        rows = _regex_rows(block).collect()
    shaped = (pl.col("time").str.len_bytes() == 21) & (pl.col("tz").str.len_bytes() == 6)
    return rows.with_columns(
        pl.col("time").str.slice(1),
        pl.col("tz").str.slice(0, 5),
        (pl.col("valid") & shaped).fill_null(False),
    )


def requests(block: bytes) -> Requests:
    """The block's lines as HTTP requests (``common.REQUESTS_SCHEMA``)."""
    return requests_of(
        parse_rows(block),
        [
            unix_seconds(pl.col("time"), "%d/%b/%Y:%H:%M:%S", pl.col("tz")).alias("time"),
            pl.col("remote_addr"),
            pl.col("user_agent").fill_null(""),
            request_target(pl.col("request")).alias("request_uri"),
            pl.col("status").cast(pl.Int64, strict=False),
        ],
    )


def _shaped(rows: pl.LazyFrame, apps: AppPattern) -> pl.LazyFrame:
    # Cheap per-row work only: the time and zone are checked on the few groups they form
    # (a malformed or shifted one fails to parse there and its lines are rejected), and
    # the size must be a number.
    size = pl.col("bytes")
    sent = size.cast(pl.Int64, strict=False)
    ok = sent.is_not_null() | (size == "-")
    return rows.select(
        pl.col("time").str.slice(1, _HOUR_LEN).alias("key"),
        pl.col("time"),
        pl.col("tz"),
        apps.from_request(pl.col("request")).alias("app"),
        sent.fill_null(0).alias("bytes"),
        (pl.col("valid") & ok).fill_null(False).alias("valid"),
    )


_MINUTE_KEY = pl.col("time").str.slice(1, _MINUTE_LEN)


def _line_count(block: bytes) -> pl.LazyFrame:
    # Without quoting every newline ends a row, and polars counts them without parsing.
    return pl.scan_csv(
        block, has_header=False, separator="\n", quote_char=None, schema={"line": pl.String}
    ).select(pl.len())


def parse(block: bytes, apps: AppPattern) -> BlockResult:
    done = totals_from_local(
        _shaped(_csv_rows(block), apps), _MINUTE, _HOUR_LEN, _line_count(block), _MINUTE_KEY
    )
    if done is None:  # not one CSV row per line: the per-line regex
        done = totals_from_local(
            _shaped(_regex_rows(block), apps), _MINUTE, _HOUR_LEN, None, _MINUTE_KEY
        )
    assert done is not None
    return BlockResult(done.totals, done.rows, rejected_lines(block, done.rejected, done.rows))

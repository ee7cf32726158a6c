"""What every format shares: the block result, application extraction, UTC days.

Formats turn a block of complete lines into rows; the rows are grouped by the *local* hour
(or minute, for zones with a minute offset) and the zone as written, and only those few
groups are converted to UTC days.  Parsing a date-time per line would cost more than
everything else together.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import polars as pl

# Columns of BlockResult.totals.
TOTALS_SCHEMA = {"day": pl.Date, "app": pl.String, "bytes": pl.Int64, "requests": pl.Int64}


@dataclass
class BlockResult:
    """What a parser makes of one block of complete lines.

    ``totals``: one row per (UTC day, application name as logged; '' when none) with the
    bytes billed and requests.  ``rejects``: the lines that could not be parsed, as read.
    """

    totals: pl.DataFrame
    lines: int
    rejects: list[bytes] = field(default_factory=list)


def empty_totals() -> pl.DataFrame:
    return pl.DataFrame(schema=TOTALS_SCHEMA)


def split_lines(block: bytes) -> list[bytes]:
    """The block's lines without their terminators (the block ends with a newline)."""
    lines = block.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


_SEGMENT = 64 << 10


def rejected_lines(
    block: bytes, valid: pl.Series | list[int], lines: int | None = None
) -> list[bytes]:
    """The raw lines at the positions where ``valid`` is false, or at the given positions.

    The rare path, kept cheap: newlines are counted per segment (a C scan), from the end of
    the block nearer to each line when ``lines`` (the block's number of lines) is given,
    and only the segments holding a rejected line are split.
    """
    bad = valid if isinstance(valid, list) else valid.not_().arg_true().to_list()
    if not bad:
        return []
    wanted = sorted(bad)
    middle = len(wanted) if lines is None else bisect.bisect_left(wanted, lines // 2)
    found = _pick(block, wanted[:middle], _segments_forward(block))
    if lines is not None and middle < len(wanted):
        found.update(_pick(block, wanted[middle:][::-1], _segments_backward(block, lines)))
    return [found[i] for i in wanted]


Segment = tuple[int, int, int, int]  # start, end, index of its first line, lines


def _segments_forward(block: bytes) -> Iterator[Segment]:
    start, first = 0, 0
    while start < len(block):
        end = block.find(b"\n", min(start + _SEGMENT, len(block)) - 1) + 1 or len(block)
        count = block.count(b"\n", start, end)
        yield start, end, first, count
        start, first = end, first + count


def _segments_backward(block: bytes, lines: int) -> Iterator[Segment]:
    end, after = len(block), lines
    while end > 0:
        start = block.rfind(b"\n", 0, max(end - _SEGMENT, 0)) + 1
        count = block.count(b"\n", start, end)
        yield start, end, after - count, count
        end, after = start, after - count


def _pick(block: bytes, targets: list[int], segments: Iterator[Segment]) -> dict[int, bytes]:
    """The lines at ``targets``, given in the order the segments come."""
    found: dict[int, bytes] = {}
    pending = iter(targets)
    target = next(pending, None)
    for start, end, first, count in segments:
        if target is None:
            break
        split: list[bytes] | None = None
        while target is not None and first <= target < first + count:
            if split is None:
                split = block[start:end].split(b"\n")
            text = split[target - first]
            found[target] = text[:-1] if text.endswith(b"\r") else text
            target = next(pending, None)
    return found


# Constructs that could match a space (or need the end of the path): a pattern using one
# is applied to the path alone, after cutting it out of the request line.
_UNFOLDABLE = ("\\s", "\\S", "\\W", "\\D", "\\p", "\\P", "\\b", "\\B", "$", "|", " ", "(?")


def fold_into_request(pattern: str) -> str | None:
    """``pattern`` (anchored at the start of the URL path) rewritten to run on the whole
    request line ``METHOD target PROTOCOL``, or None when that cannot be done exactly.

    A request target contains no space, so making every part of the pattern unable to match
    one (``.`` becomes ``[^ ]``, negated classes also exclude the space) keeps each match
    inside the target: the rewritten pattern finds exactly what the original finds in the
    path, with one regex pass per line instead of two.
    """
    if not pattern.startswith("^") or any(token in pattern for token in _UNFOLDABLE):
        return None
    out: list[str] = ["^[^ ]+ "]
    in_class = False
    i = 1
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
        elif pattern.startswith("[^", i):
            in_class = True
            out.append("[^ ")
            i += 2
            continue
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == ".":
            out.append("[^ ]")
        else:
            out.append(char)
        i += 1
    return "".join(out)


# The target (path and query) of an HTTP request line ``METHOD target PROTOCOL``.
_TARGET = r"^[^ ]+ ([^ ]+)"


class AppPattern:
    """The configured regex whose first group is the application, applied to a URL path."""

    def __init__(self, pattern: str):
        compiled = re.compile(pattern)
        if compiled.groups < 1:
            raise ValueError(f"application pattern {pattern!r} has no group")
        self.pattern = pattern
        self._folded = fold_into_request(pattern)

    def from_path(self, path: pl.Expr) -> pl.Expr:
        return path.str.extract(self.pattern, 1)

    def from_request(self, request: pl.Expr) -> pl.Expr:
        """From an HTTP request line ``METHOD target PROTOCOL``."""
        if self._folded is not None:
            return request.str.extract(self._folded, 1)
        return self.from_path(request.str.extract(_TARGET, 1))


# Columns of a format's per-request view (``requests``): each request's time (unix seconds),
# client address, User-Agent ('' when not logged), target (path and query) and status.
REQUESTS_SCHEMA = {
    "time": pl.Int64,
    "remote_addr": pl.String,
    "user_agent": pl.String,
    "request_uri": pl.String,
    "status": pl.Int64,
}


class Requests(NamedTuple):
    """A block's lines as HTTP requests, one row each in ``REQUESTS_SCHEMA``, and how many
    lines the block had and could not be read as one."""

    rows: pl.DataFrame
    lines: int
    rejected: int


def request_target(request: pl.Expr) -> pl.Expr:
    """The target of a request line ``METHOD target PROTOCOL`` (the line itself when it
    has no method)."""
    return pl.coalesce(request.str.extract(_TARGET, 1), request)


def unix_seconds(local: pl.Expr, local_format: str, tz: pl.Expr) -> pl.Expr:
    """A local date-time and its zone (``+hhmm``, ``+hh:mm`` or ``Z``) as unix seconds;
    null when either does not parse."""
    moment = local.str.strptime(pl.Datetime("us"), local_format, strict=False)
    return (moment - pl.duration(minutes=_offset_minutes(tz))).dt.epoch("s")


def requests_of(rows: pl.DataFrame, view: list[pl.Expr]) -> Requests:
    """The rows whose ``view`` (``REQUESTS_SCHEMA``'s columns, by name) is complete, among
    ``rows`` (one per line, with ``valid``)."""
    shaped = rows.select(*view, pl.col("valid"))
    complete = pl.all_horizontal(pl.col(name).is_not_null() for name in REQUESTS_SCHEMA)
    found = shaped.filter(pl.col("valid") & complete).select(*REQUESTS_SCHEMA)
    return Requests(found, rows.height, rows.height - found.height)


def _offset_minutes(tz: pl.Expr) -> pl.Expr:
    """``+hhmm`` / ``+hh:mm`` / ``Z`` -> minutes east of UTC; null when malformed.

    A trailing ``]`` (combined's ``+hhmm]`` as split) is ignored."""
    compact = tz.str.strip_chars_end("]").str.replace(":", "", literal=True)
    sign = (
        pl.when(compact.str.slice(0, 1) == "+")
        .then(1)
        .when(compact.str.slice(0, 1) == "-")
        .then(-1)
        .otherwise(None)
    )
    valid = compact.str.contains(r"^[+-][0-9]{4}$")
    minutes = compact.str.slice(1, 2).cast(pl.Int64, strict=False) * 60 + compact.str.slice(
        3, 2
    ).cast(pl.Int64, strict=False)
    return (
        pl.when(compact == "Z")
        .then(0)
        .when(valid)
        .then(sign * minutes)
        .otherwise(None)
        .alias("offset")
    )


def local_key(time: pl.Expr, tz: pl.Expr, hour_len: int, minute_len: int) -> pl.Expr:
    """The local time cut to the hour, or to the minute when the zone has odd minutes."""
    compact = tz.str.replace(":", "", literal=True)
    return (
        pl.when(compact.str.slice(3, 2) == "00")
        .then(time.str.slice(0, hour_len))
        .otherwise(time.str.slice(0, minute_len))
    )


class LocalTotals(NamedTuple):
    totals: pl.DataFrame  # TOTALS_SCHEMA
    # Rows to reject (invalid, or with a time or zone that turned out malformed), in order.
    rejected: list[int]
    rows: int


def totals_from_local(
    rows: pl.LazyFrame,
    minute_format: str,
    hour_len: int,
    line_count: pl.LazyFrame | None = None,
    minute_key: pl.Expr | None = None,
) -> LocalTotals | None:
    """Group valid rows (``key, tz, app, bytes, valid``) into UTC-day totals.

    None when ``line_count`` (a plan giving the block's number of lines) differs from the
    number of rows (the caller's row-per-line assumption failed) or polars could not read
    the rows.

    With ``minute_key``, ``key`` is cut to the hour for every row, and only rows in zones
    with an odd minute offset (``+0530``: rare) are grouped again by ``minute_key``.

    The usual block (every time and zone well-formed, zones on the hour) costs one scan of
    the rows, which also converts the few groups it makes to UTC days, and one small
    group-by; only a block with other groups scans its rows again.
    """
    settled = pl.col("day").is_not_null()
    if minute_key is not None:
        settled = settled & (pl.col("offset") % 60 == 0)
    # One output per scan: polars does not share a scan between plans derived from it.
    plans = [
        _with_utc_days(
            rows.filter(pl.col("valid"))
            .group_by("key", "tz", "app")
            .agg(pl.col("bytes").sum(), pl.len().cast(pl.Int64).alias("requests")),
            hour_len,
            minute_format,
        ).with_columns(settled.alias("settled")),
        rows.with_row_index("index").filter(pl.col("valid").not_()).select("index"),
    ]
    if line_count is not None:
        plans.append(line_count)
    try:
        groups, bad_rows, *counted = pl.collect_all(plans)
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError):
        return None
    read = int(groups["requests"].sum()) + bad_rows.height
    if counted and read != counted[0].item():
        return None
    bad_positions: list[int] = bad_rows["index"].to_list()
    if groups["settled"].all():
        return LocalTotals(_by_day(groups), bad_positions, read)
    totals, more_bad = _settle(
        rows,
        groups.filter("settled"),
        groups.filter(pl.col("settled").not_()),
        minute_format,
        hour_len,
        minute_key,
    )
    return LocalTotals(totals, sorted(bad_positions + more_bad), read)


def _with_utc_days(groups: pl.LazyFrame, hour_len: int, minute_format: str) -> pl.LazyFrame:
    """Groups by local ``key`` and ``tz`` with their UTC ``day`` (null when either does not
    parse) and ``offset``; a null ``app`` becomes ''."""
    # chrono parses no hour without its minute: hour keys get ":00".
    local = (
        pl.when(pl.col("key").str.len_bytes() == hour_len)
        .then(pl.col("key") + ":00")
        .otherwise(pl.col("key"))
        .str.strptime(pl.Datetime, minute_format, strict=False)
    )
    offset = _offset_minutes(pl.col("tz"))
    return groups.with_columns(
        (local - pl.duration(minutes=offset)).dt.date().alias("day"),
        offset,
        pl.col("app").fill_null(""),
    )


def _by_day(groups: pl.DataFrame) -> pl.DataFrame:
    return groups.group_by("day", "app").agg(
        pl.col("bytes").sum().cast(pl.Int64), pl.col("requests").sum()
    )


def _settle(
    rows: pl.LazyFrame,
    settled: pl.DataFrame,
    unsettled: pl.DataFrame,
    minute_format: str,
    hour_len: int,
    minute_key: pl.Expr | None,
) -> tuple[pl.DataFrame, list[int]]:
    """The rare groups: zones with odd minutes (grouped again by the minute) and malformed
    times or zones (whose rows are rejected).  Returns all totals and the rejected rows."""
    key = pl.col("key")
    broken = unsettled.filter(pl.col("day").is_null())
    odd = unsettled.filter(pl.col("day").is_not_null())
    if minute_key is not None and odd.height:
        in_odd = pl.col("tz").is_in(odd["tz"].unique().implode())
        key = pl.when(in_odd).then(minute_key).otherwise(pl.col("key"))
        by_minute = _with_utc_days(
            rows.filter(pl.col("valid") & in_odd)
            .with_columns(minute_key.alias("key"))
            .group_by("key", "tz", "app")
            .agg(pl.col("bytes").sum(), pl.len().cast(pl.Int64).alias("requests")),
            hour_len,
            minute_format,
        ).collect()
        settled = pl.concat(
            [settled, by_minute.filter(pl.col("day").is_not_null())], how="diagonal"
        )
        # The hour groups of those zones (malformed ones too) are replaced by the minute's.
        broken = pl.concat(
            [broken.filter(in_odd.not_()), by_minute.filter(pl.col("day").is_null())],
            how="diagonal",
        )
    totals = _by_day(settled)
    if not broken.height:
        return totals, []
    names = (broken["key"] + "|" + broken["tz"]).unique()
    positions = (
        rows.with_row_index("index")
        .filter(pl.col("valid") & (key + "|" + pl.col("tz")).is_in(names.implode()))
        .select("index")
        .collect()
    )
    return totals, positions["index"].to_list()

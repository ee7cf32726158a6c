"""What every format shares: the block result, application extraction, UTC days.

Formats turn a block of complete lines into rows; the rows are grouped by the *local* hour
(or minute, for zones with a minute offset) and the zone as written, and only those few
groups are converted to UTC days.  Parsing a date-time per line would cost more than
everything else together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


_SEGMENT = 1 << 20


def rejected_lines(block: bytes, valid: pl.Series | list[int]) -> list[bytes]:
    """The raw lines at the positions where ``valid`` is false, or at the given positions.

    The rare path, kept cheap: newlines are counted per 1 MiB segment (a C scan) and only
    the segments holding a rejected line are split.
    """
    bad = valid if isinstance(valid, list) else valid.not_().arg_true().to_list()
    if not bad:
        return []
    found: list[bytes] = []
    wanted = iter(sorted(bad))
    target = next(wanted, None)
    start, first_line = 0, 0  # segment start (a line start) and its line number
    while target is not None and start < len(block):
        end = block.find(b"\n", min(start + _SEGMENT, len(block)) - 1) + 1 or len(block)
        count = block.count(b"\n", start, end)
        if target < first_line + count:
            lines = block[start:end].split(b"\n")
            while target is not None and target < first_line + count:
                text = lines[target - first_line]
                found.append(text[:-1] if text.endswith(b"\r") else text)
                target = next(wanted, None)
        start, first_line = end, first_line + count
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
        return self.from_path(request.str.extract(r"^[^ ]+ ([^ ]+)", 1))


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
    return pl.when(compact == "Z").then(0).when(valid).then(sign * minutes).otherwise(None)


def local_key(time: pl.Expr, tz: pl.Expr, hour_len: int, minute_len: int) -> pl.Expr:
    """The local time cut to the hour, or to the minute when the zone has odd minutes."""
    compact = tz.str.replace(":", "", literal=True)
    return (
        pl.when(compact.str.slice(3, 2) == "00")
        .then(time.str.slice(0, hour_len))
        .otherwise(time.str.slice(0, minute_len))
    )


def totals_from_local(
    rows: pl.LazyFrame,
    minute_format: str,
    hour_len: int,
    expected_rows: int | None = None,
    minute_key: pl.Expr | None = None,
) -> tuple[pl.DataFrame, list[int]] | None:
    """Group valid rows (``key, tz, app, bytes, valid``) into UTC-day totals.

    Returns the totals and the positions of the rows to reject (invalid, or with a time or
    zone that turned out malformed), in order; None when the frame does not
    have ``expected_rows`` rows (the caller's row-per-line assumption failed) or polars
    could not read it.  One pass over the data when every row is valid, the usual case.

    With ``minute_key``, ``key`` is cut to the hour for every row, and only rows in zones
    with an odd minute offset (``+0530``: rare) are grouped again by ``minute_key``.
    """
    grouped_plan = (
        rows.filter(pl.col("valid"))
        .group_by("key", "tz", "app")
        .agg(pl.col("bytes").sum(), pl.len().alias("requests"))
    )
    counts_plan = rows.select(pl.len().alias("rows"))
    # Positions of invalid rows come out of the same scan (polars shares it between plans).
    bad_plan = rows.with_row_index("index").filter(pl.col("valid").not_()).select("index")
    try:
        grouped, counts, bad_rows = pl.collect_all([grouped_plan, counts_plan, bad_plan])
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError):
        return None
    if expected_rows is not None and counts["rows"][0] != expected_rows:
        return None
    bad_positions: list[int] = bad_rows["index"].to_list()
    key = pl.col("key")
    if minute_key is not None:
        minutes = pl.col("tz").str.strip_chars_end("]").str.replace(":", "", literal=True)
        odd = grouped.filter(minutes.str.slice(3, 2) != "00")["tz"].unique()
        if odd.len():
            in_odd = pl.col("tz").is_in(odd.implode())
            key = pl.when(in_odd).then(minute_key).otherwise(pl.col("key"))
            again = (
                rows.filter(pl.col("valid") & in_odd)
                .with_columns(minute_key.alias("key"))
                .group_by("key", "tz", "app")
                .agg(pl.col("bytes").sum(), pl.len().alias("requests"))
                .collect()
            )
            grouped = pl.concat([grouped.filter(in_odd.not_()), again.select(grouped.columns)])
    grouped = grouped.with_columns(
        # chrono parses no hour without its minute: hour keys get ":00".
        pl.when(pl.col("key").str.len_bytes() == hour_len)
        .then(pl.col("key") + ":00")
        .otherwise(pl.col("key"))
        .str.strptime(pl.Datetime, minute_format, strict=False)
        .alias("local"),
        _offset_minutes(pl.col("tz")).alias("offset"),
    )
    broken = grouped.filter(pl.col("local").is_null() | pl.col("offset").is_null())
    if broken.height:
        bad = (broken["key"] + "|" + broken["tz"]).unique()
        more = (
            rows.with_row_index("index")
            .filter(pl.col("valid") & (key + "|" + pl.col("tz")).is_in(bad.implode()))
            .select("index")
            .collect()
        )
        bad_positions = sorted(bad_positions + more["index"].to_list())
        grouped = grouped.filter(pl.col("local").is_not_null() & pl.col("offset").is_not_null())
    totals = (
        grouped.lazy()
        .select(
            (pl.col("local") - pl.duration(minutes=pl.col("offset"))).dt.date().alias("day"),
            pl.col("app").fill_null(""),
            pl.col("bytes").cast(pl.Int64),
            pl.col("requests").cast(pl.Int64),
        )
        .group_by("day", "app")
        .agg(pl.col("bytes").sum(), pl.col("requests").sum())
        .collect()
    )
    return totals, bad_positions

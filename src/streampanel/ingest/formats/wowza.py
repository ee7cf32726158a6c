"""Wowza Streaming Engine's W3C access log (``wowzastreamingengine_access.log``).

Lines are tab-separated; columns are named by the latest ``#Fields:`` header (headers are
written again after every restart, possibly with other columns).  ``date`` and ``time`` are
in the zone named by the ``tz`` column (``UTC``, ``CET``, ``-0500``, an IANA name...).

Bytes: ``sc-bytes`` is cumulative per ``c-client-id`` (each line repeats the session's
running total), so the bill is the increase since the client's previous line; a counter
that goes down is a new session and counts from zero.  When a ``sc-bytes-inc`` column is
present it is used as is.  The increase is billed on the UTC day of the line that shows it.
Requests: one per ``play`` event.  The application is ``x-app``.

Stateful across blocks (fields, zone, last counter per client), so the state is committed
with the file offset.  Pure: bytes in, frames out.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from streampanel.ingest.format_names import WOWZA
from streampanel.ingest.formats.common import TOTALS_SCHEMA, BlockResult

NAME = WOWZA

# Zone abbreviations Java writes in the tz column (fixed offsets, hours east of UTC).
_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "UT": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "MET": 1,
    "MEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
    "JST": 9,
    "KST": 9,
    "HKT": 8,
    "SGT": 8,
    "AWST": 8,
    "ACST": 9.5,
    "ACDT": 10.5,
    "AEST": 10,
    "AEDT": 11,
    "NZST": 12,
    "NZDT": 13,
}


def zone(name: str) -> tzinfo | None:
    """The zone a ``tz`` value names, or None when it names none we know."""
    text = name.strip()
    if text.upper() in _ABBREVIATIONS:
        return timezone(timedelta(hours=_ABBREVIATIONS[text.upper()]))
    offset = text.upper().removeprefix("GMT").removeprefix("UTC").replace(":", "")
    if len(offset) == 5 and offset[0] in "+-" and offset[1:].isdigit():
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        return timezone(timedelta(minutes=minutes if offset[0] == "+" else -minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class WowzaParser:
    # The #Fields header and the byte counters run from one block into the next.
    independent_blocks = False

    def __init__(self, state: str = "{}"):
        saved = json.loads(state or "{}")
        self.fields: list[str] = saved.get("fields", [])
        # c-client-id -> last cumulative sc-bytes seen
        self.last: dict[str, int] = saved.get("last", {})
        self._zones: dict[str, tzinfo | None] = {}

    def state(self) -> str:
        return json.dumps({"fields": self.fields, "last": self.last}, separators=(",", ":"))

    def _utc_day(self, day: str, clock: str, tz: str) -> date | None:
        if tz not in self._zones:
            self._zones[tz] = zone(tz)
        where = self._zones[tz]
        if where is None:
            return None
        try:
            local = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
        return local.replace(tzinfo=where).astimezone(UTC).date()

    def _bill(self, row: dict[str, str]) -> int | None:
        if "sc-bytes-inc" in row:
            value = row["sc-bytes-inc"]
            return 0 if value == "-" else int(value) if value.isdigit() else None
        value, client = row.get("sc-bytes", "-"), row.get("c-client-id", "-")
        if value == "-":
            return 0
        if not value.isdigit():
            return None
        total = int(value)
        if client == "-":
            return total
        previous = self.last.get(client, 0)
        self.last[client] = total
        increase = total - previous if total >= previous else total
        if row.get("x-event") in ("destroy", "disconnect"):
            self.last.pop(client, None)  # the session is over: keep the state small
        return increase

    def parse(self, block: bytes) -> BlockResult:
        totals: dict[tuple[date, str], list[int]] = {}
        rejects: list[bytes] = []
        split = block.split(b"\n")
        if split and split[-1] == b"":
            split.pop()
        for raw in split:
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if line.startswith("#"):
                if line.startswith("#Fields:"):
                    self.fields = line[len("#Fields:") :].split()
                continue
            values = line.split("\t")
            if not self.fields or len(values) != len(self.fields):
                rejects.append(raw)
                continue
            row = dict(zip(self.fields, values, strict=True))
            day = self._utc_day(row.get("date", ""), row.get("time", ""), row.get("tz", "UTC"))
            billed = self._bill(row) if day is not None else None
            if day is None or billed is None:
                rejects.append(raw)
                continue
            played = 1 if row.get("x-event") == "play" else 0
            if not billed and not played:
                continue  # a line without traffic (connect, stats of an idle client...)
            app = row.get("x-app", "-")
            entry = totals.setdefault((day, "" if app == "-" else app), [0, 0])
            entry[0] += billed
            entry[1] += played
        frame = pl.DataFrame(
            [(d, a, b, r) for (d, a), (b, r) in totals.items()],
            schema=TOTALS_SCHEMA,
            orient="row",
        )
        return BlockResult(frame, len(split), rejects)

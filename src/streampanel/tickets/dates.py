"""Ticket dates: written ``Y-m-d H:i:s`` in UTC, ``0000-00-00 00:00:00`` when never set, and
read as leniently as the clients that send them (PHP's ``strtotime`` forms).

Clients of the original send ``2014-11-15 01:16:39``, ``2016-01-02 9:05:00`` (unpadded
hour), a date alone, ISO 8601 with a zone, RFC 2822, unix seconds or ``+1 day``.  A time
without a zone is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from streampanel.protocol.request import is_int

NULL_DATE = "0000-00-00 00:00:00"
FORMAT = "%Y-%m-%d %H:%M:%S"
EXPIRE_EXPECTED = (
    "a date-time YYYY-MM-DD HH:MM:SS (UTC), a date, ISO 8601, unix seconds, "
    "or a relative time such as '+1 day'"
)

_UNITS = {
    "sec": 1,
    "second": 1,
    "min": 60,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    # strtotime counts calendar months and years; 30 and 365 days are close enough for an
    # expiry and need no calendar arithmetic.
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_RELATIVE = re.compile(r"^\+?\s*([0-9]{1,6})\s*(sec|second|min|minute|hour|day|week|month|year)s?$")
# ASCII digits only: str.isdigit() also takes '²'.
_DIGITS = re.compile(r"[0-9]{1,12}")
_TEXT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S")
_EARLIEST = datetime(1970, 1, 1)
_LATEST = datetime(9999, 12, 31, 23, 59, 59)


def format_date(moment: datetime | None) -> str:
    return NULL_DATE if moment is None else moment.strftime(FORMAT)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _parse_text(text: str, now: datetime) -> datetime | None:
    relative = _RELATIVE.match(text.lower())
    if relative:
        return now + timedelta(seconds=int(relative[1]) * _UNITS[relative[2]])
    for fmt in _TEXT_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return _naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return _naive_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def parse_expiry(value: Any, now: datetime) -> datetime:
    """A naive UTC date-time from what a client sent; ``ValueError`` if it is none of the
    forms or outside 1970..9999."""
    moment: datetime | None = None
    if is_int(value) or (isinstance(value, str) and _DIGITS.fullmatch(value.strip())):
        seconds = int(value)
        if 0 <= seconds <= 253402300799:
            moment = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    elif isinstance(value, str) and 0 < len(value) <= 64:
        moment = _parse_text(value.strip(), now)
    if moment is None or not _EARLIEST <= moment <= _LATEST:
        raise ValueError("not an expiry date")
    return moment.replace(microsecond=0)

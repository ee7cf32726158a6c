"""The few fields HLS viewer counting needs from an access-log line (pure, no I/O).

Two formats: nginx ``combined`` (also the default ``main`` format and anything that starts
like it) and JSON lines with nginx's variable names (``time_iso8601``/``msec``,
``remote_addr``, ``request_uri``/``request``, ``status``, ``http_user_agent``).  Lines that
do not parse give ``None``; the caller counts them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_COMBINED = re.compile(
    r'^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) \S+'
    r'(?: "(?P<referer>[^"]*)" "(?P<ua>[^"]*)")?'
)


@dataclass(frozen=True)
class Hit:
    """One request of the log."""

    time: int  # unix seconds
    ip: str
    user_agent: str
    uri: str  # path and query
    status: int


def _request_uri(request: str) -> str:
    # "GET /app/s/index.m3u8?x=1 HTTP/1.1" -> "/app/s/index.m3u8?x=1"
    parts = request.split(" ")
    return parts[1] if len(parts) >= 2 else parts[0]


def parse_combined(line: str) -> Hit | None:
    match = _COMBINED.match(line)
    if match is None:
        return None
    try:
        moment = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return None
    return Hit(
        time=int(moment.timestamp()),
        ip=match["ip"],
        user_agent=match["ua"] or "",
        uri=_request_uri(match["request"]),
        status=int(match["status"]),
    )


def _first(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, "", "-"):
            return value
    return None


def _json_time(record: dict[str, Any]) -> int | None:
    msec = _first(record, "msec")
    if msec is not None:
        return int(float(msec))
    text = _first(record, "time_iso8601", "time", "timestamp", "@timestamp")
    if isinstance(text, int | float):
        return int(text)
    if isinstance(text, str):
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        # A time without zone is UTC, like every time of the API.
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    local = _first(record, "time_local")
    if isinstance(local, str):
        return int(datetime.strptime(local, "%d/%b/%Y:%H:%M:%S %z").timestamp())
    return None


def parse_json(line: str) -> Hit | None:
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            return None
        moment = _json_time(record)
        uri = _first(record, "request_uri", "uri")
        if uri is None:
            request = _first(record, "request")
            uri = _request_uri(request) if isinstance(request, str) else None
        ip = _first(record, "remote_addr", "client_ip", "ip")
        status = int(_first(record, "status") or 0)
    except (ValueError, TypeError):
        return None
    if moment is None or not isinstance(uri, str) or ip is None:
        return None
    user_agent = _first(record, "http_user_agent", "user_agent") or ""
    return Hit(time=moment, ip=str(ip), user_agent=str(user_agent), uri=uri, status=status)


PARSERS = {"combined": parse_combined, "json": parse_json}

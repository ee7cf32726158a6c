"""Parameter forms shared by several commands, defined once.

Each type accepts what clients of the original API send (PHP sends numbers as ints or digit
strings) and normalises it; ``expected`` texts name the accepted forms in error messages and
in the generated documentation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from streampanel.protocol.request import INT_BOUND, as_integer, is_int


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class Params(BaseModel):
    """Base of every command's parameter model: unknown members are ignored.

    Clients of the original API send extra members, and the signature covers them anyway.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # JSON may carry "\u0000" (signed PHP requests do), but no parameter means it and
        # PostgreSQL text cannot hold it: refused here for every parameter of every command.
        if _has_nul(value):
            raise ValueError("NUL character")
        return value


def expected(text: str, **kwargs: Any) -> Any:
    """A ``Field`` whose validation failures say ``expected <text>``."""
    return Field(json_schema_extra={"expected": text}, **kwargs)


def parse_int(value: Any) -> int:
    """A JSON integer or ASCII digit string; beyond int64 it is ``±INT_BOUND`` (see
    ``as_integer``), which the callers' range checks refuse."""
    number = as_integer(value)
    if number is None:
        raise ValueError("not an integer")
    return number


def _app_selector(value: Any) -> list[int | str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("empty")
    selector: list[int | str] = []
    for item in items:
        if is_int(item):
            # An id beyond int64 names no application (and is not echoed back in full).
            if not -INT_BOUND < item < INT_BOUND:
                raise ValueError("not an application id")
            selector.append(int(item))
        elif isinstance(item, str) and item:
            selector.append(item)
        else:
            raise ValueError("not an application id or name")
    return selector


def _from_unix(seconds: int) -> datetime:
    """Unix seconds as naive UTC; absurd values are a ValueError."""
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        # Linux answers OSError (EOVERFLOW) for timestamps past year 9999.
        raise ValueError("unix seconds out of range") from None


def _start_date(value: Any) -> date:
    seconds = as_integer(value)
    if seconds is not None:
        return _from_unix(seconds).date()
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%Y-%m"):
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
    raise ValueError("not a start date")


def _date_time(value: Any) -> datetime:
    seconds = as_integer(value)
    if seconds is not None:
        return _from_unix(seconds)
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                continue
    raise ValueError("not a date-time")


def _stream_patterns(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    patterns: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("not a stream pattern")
        patterns.extend(part for part in item.split("|") if part)
    if not patterns:
        raise ValueError("empty")
    return patterns


# The largest integer the stores compare (PostgreSQL's bigint): offsets beyond it are refused
# here rather than by the driver.
MAX_STORE_INT = 2**63 - 1


def _non_negative_int(value: Any) -> int:
    number = parse_int(value)
    if not 0 <= number <= MAX_STORE_INT:
        raise ValueError("out of range")
    return number


AppSelector = Annotated[list[int | str], BeforeValidator(_app_selector)]
APP_EXPECTED = "an application id, name, or an array of them"

StartDate = Annotated[date, BeforeValidator(_start_date)]
STARTTIME_EXPECTED = "a date YYYY-MM-DD, a month YYYY-MM, or unix seconds"

DateTimeParam = Annotated[datetime, BeforeValidator(_date_time)]
DATETIME_EXPECTED = "a date-time YYYY-MM-DD HH:MM:SS or unix seconds"

StreamPatterns = Annotated[list[str], BeforeValidator(_stream_patterns)]
URL_EXPECTED = (
    "a stream name or VOD path, a '|'-separated list of them with optional '*' wildcards, "
    "or an array of such strings"
)

NonNegativeInt = Annotated[int, BeforeValidator(_non_negative_int)]

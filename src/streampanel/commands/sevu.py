"""The ``sevu.*`` commands: viewer tickets, their attempt log, and publisher users.

Names and parameters are the original API's (``pass`` included, which is why the models
that have it are built with ``create_model``: it is a Python keyword).  A key or stream user
of another account is refused with exactly the answer a missing one gets.  Enforcement is
``streampanel.tickets``; what each field means is in docs/tickets.md.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, create_model
from sqlalchemy.exc import IntegrityError

from streampanel.commands.context import CallContext
from streampanel.commands.params import (
    APP_EXPECTED,
    DATETIME_EXPECTED,
    AppSelector,
    DateTimeParam,
    NonNegativeInt,
    Params,
    expected,
    parse_int,
)
from streampanel.commands.registry import command
from streampanel.errors import InvalidParameter, UnknownObject
from streampanel.protocol.request import is_int
from streampanel.store import tickets as store
from streampanel.tickets import rules
from streampanel.tickets.dates import EXPIRE_EXPECTED, format_date, parse_expiry
from streampanel.tickets.passwords import hash_password

# Without expire (or expires), a ticket lasts a week, as the original's v2 API defaults.
DEFAULT_LIFETIME = timedelta(days=7)
MAX_USES = 2**31 - 1
MAX_ID = 2**31 - 1
_MAX_ENTRIES = 50
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f\ud800-\udfff]+$")
_STREAM_USER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _patterns(limit: int) -> Any:
    """A ``|``-separated pattern list (or an array of them), normalised to its text."""

    def check(value: Any) -> str:
        items = value if isinstance(value, list) else [value]
        entries: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise ValueError("not a pattern")
            entries += rules.split_patterns(item)
        if not entries or len(entries) > _MAX_ENTRIES:
            raise ValueError("no patterns, or too many")
        if any(len(e) > limit or not _PRINTABLE.match(e) for e in entries):
            raise ValueError("bad pattern")
        return rules.SEPARATOR.join(entries)

    return BeforeValidator(check)


def _text(limit: int, pattern: re.Pattern[str] = _PRINTABLE) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > limit or not pattern.match(value):
            raise ValueError("bad text")
        return value

    return BeforeValidator(check)


def _nullable_text(limit: int, pattern: re.Pattern[str] = _PRINTABLE) -> Any:
    inner = _text(limit, pattern).func

    def check(value: Any) -> str | None:
        return None if value is None else inner(value)

    return BeforeValidator(check)


def _ip_rule(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise ValueError("not an IP rule")
    return rules.IpRule.parse(value).text


def _expiry_form(value: Any) -> str | int:
    # Checked here for its form; read against the request's clock by the handler.
    parse_expiry(value, datetime(2000, 1, 1))
    return value if is_int(value) else str(value)


def _ranged(low: int, high: int) -> Any:
    def check(value: Any) -> int:
        number = parse_int(value)
        if not low <= number <= high:
            raise ValueError("out of range")
        return number

    return BeforeValidator(check)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1"):
        return bool(int(value))
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("not a boolean")


AppPatterns = Annotated[str, _patterns(200)]
VideoPatterns = Annotated[str, _patterns(500)]
IpRuleText = Annotated[str, BeforeValidator(_ip_rule)]
ExpireValue = Annotated[str | int, BeforeValidator(_expiry_form)]
TicketKey = Annotated[str, _text(96)]
Flag = Annotated[bool, BeforeValidator(_flag)]
StreamName = Annotated[str, _text(500)]

APP_PATTERNS_EXPECTED = (
    "an application name, or a '|'-separated list of them with optional '*' wildcards"
)
VIDEO_EXPECTED = (
    "a stream name or VOD path, or a '|'-separated list of them with optional '*' wildcards "
    "('*' alone: any video)"
)
TICKET_PASS_EXPECTED = "a password of 1 to 255 characters, presented with the key on playback"  # noqa: S105
IP_EXPECTED = (
    "an IP address, a CIDR network (0.0.0.0/0: anyone), auto, auto/N, "
    "or a '|'-separated list of them"
)
USES_EXPECTED = f"how many playback starts are allowed, 0 to {MAX_USES} (0: unlimited)"
KEY_EXPECTED = "a ticket key as sevu.request answered it"
STREAM_EXPECTED = "a stream name, or '*' for every stream of the application"
USER_EXPECTED = "letters, digits, '-' and '_' (1 to 64), or null for no publisher credentials"
PUBLISHER_PASS_EXPECTED = "a password of 1 to 255 characters, or null with user null"  # noqa: S105
STREAMUSER_ID_EXPECTED = f"a stream user id (an integer from 1 to {MAX_ID})"
LIMIT_EXPECTED = "an integer from 1 to {}"


def _model(name: str, fields: dict[str, Any]) -> Any:
    """A parameter model from (annotation, field) pairs in request order."""
    return create_model(name, __base__=Params, **fields)


SevuRequestParams = _model(
    "SevuRequestParams",
    {
        "app": (AppPatterns, expected(APP_PATTERNS_EXPECTED)),
        "video": (VideoPatterns, expected(VIDEO_EXPECTED)),
        "pass": (Annotated[str, _text(255)], expected(TICKET_PASS_EXPECTED)),
        "ip": (IpRuleText, expected(IP_EXPECTED)),
        "uses": (Annotated[int, _ranged(0, MAX_USES)], expected(USES_EXPECTED)),
        "expire": (ExpireValue | None, expected(EXPIRE_EXPECTED, default=None)),
        "expires": (
            ExpireValue | None,
            expected(f"{EXPIRE_EXPECTED}; the older name of expire", default=None),
        ),
    },
)


class SevuKeyParams(Params):
    key: TicketKey = expected(KEY_EXPECTED)


class SevuErrorLogParams(Params):
    key: TicketKey | None = expected(
        f"{KEY_EXPECTED}; without it, every attempt on the account's applications", default=None
    )
    starttime: DateTimeParam | None = expected(DATETIME_EXPECTED, default=None)
    limit: Annotated[int, _ranged(1, 10000)] = expected(LIMIT_EXPECTED.format(10000), default=1000)
    seek: NonNegativeInt = expected("how many attempts to skip", default=0)


SevuErrorCountParams = _model(
    "SevuErrorCountParams",
    {
        "key": (TicketKey | None, expected(KEY_EXPECTED, default=None)),
        "app": (Annotated[str, _text(200)] | None, expected("an application name", default=None)),
        "video": (
            Annotated[str, _text(500)] | None,
            expected("a video as requested", default=None),
        ),
        "ip": (Annotated[str, _text(64)] | None, expected("a viewer's IP address", default=None)),
        "pass": (Annotated[str, _text(255)] | None, expected("a pass as presented", default=None)),
        "success": (
            Flag | None,
            expected("1 for allowed attempts, 0 for refused ones", default=None),
        ),
        "limit": (
            Annotated[int, _ranged(1, 1000)],
            expected(LIMIT_EXPECTED.format(1000), default=25),
        ),
        "seek": (NonNegativeInt, expected("how many rows to skip", default=0)),
    },
)

_SETTINGS_FIELDS: dict[str, Any] = {
    "record": (Flag | None, expected("whether to record the stream on publish", default=None)),
    "record_type": (
        Annotated[str, _text(32)] | None,
        expected("how recordings are versioned, e.g. stream", default=None),
    ),
    "segment_type": (
        Literal["disabled", "schedule", "duration", "size"] | None,
        expected("disabled, schedule, duration or size", default=None),
    ),
    "segment_value": (
        Annotated[int, _ranged(0, MAX_ID)] | Annotated[str, _text(64)] | None,
        expected("a size, a duration, or a cron schedule", default=None),
    ),
    "save_folder": (
        Annotated[str, _text(255)] | None,
        expected("the folder recordings go to", default=None),
    ),
    "playlist_count": (
        Annotated[int, _ranged(0, 100000)] | None,
        expected("DVR: chunks kept in the playlist", default=None),
    ),
    "playlist_timeout": (
        Annotated[int, _ranged(0, MAX_ID)] | None,
        expected("DVR: seconds a DVR session is kept", default=None),
    ),
    "enable_dvr": (Flag | None, expected("whether DVR is on", default=None)),
    "ga_key": (Annotated[str, _text(64)] | None, expected("a Google Analytics key", default=None)),
}
SETTINGS = tuple(_SETTINGS_FIELDS)

SevuAddStreamUserParams = _model(
    "SevuAddStreamUserParams",
    {
        "app": (AppSelector, expected("an origin application id or name")),
        "stream": (StreamName, expected(STREAM_EXPECTED)),
        "user": (
            Annotated[str | None, _nullable_text(64, _STREAM_USER)],
            expected(USER_EXPECTED),
        ),
        "pass": (
            Annotated[str | None, _nullable_text(255)],
            expected(PUBLISHER_PASS_EXPECTED),
        ),
        **_SETTINGS_FIELDS,
    },
)

StreamUserId = Annotated[int, _ranged(1, MAX_ID)]


class SevuStreamUserParams(Params):
    """A stream user named by id, or by application, stream and user."""

    streamuser_id: StreamUserId | None = expected(STREAMUSER_ID_EXPECTED, default=None)
    app: AppSelector | None = expected(f"with stream and user: {APP_EXPECTED}", default=None)
    stream: StreamName | None = expected(f"with app and user: {STREAM_EXPECTED}", default=None)
    user: Annotated[str | None, _nullable_text(64, _STREAM_USER)] = expected(
        "with app and stream: the user (null: the entry without credentials)", default=None
    )


class SevuListStreamUsersParams(Params):
    app: AppSelector | None = expected(APP_EXPECTED, default=None)
    stream: StreamName | None = expected("a stream name, or '*'", default=None)


# Records


def ticket_record(row: dict[str, Any]) -> dict[str, Any]:
    uses, used = row["uses"], row["used"]
    return {
        "key": row["key"],
        "pass": row["pass"],
        "app": row["app"],
        "video": row["video"],
        "ip": row["ip"],
        "uses": uses,
        "used": used,
        "uses_remaining": max(uses - used, 0) if uses else None,
        "active": 1 if row["active"] else 0,
        "created_date": format_date(row["created"]),
        "used_date": format_date(row["used_date"]),
        "expire_date": format_date(row["expire_date"]),
    }


def attempt_record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "datetime": format_date(row["created"]),
        "key": row["key"],
        "pass": row["pass"],
        "ip": row["ip"],
        "app": row["app"],
        "video": row["video"],
        "protocol": row["protocol"],
        "success": 1 if row["success"] else 0,
        "reason": row["reason"],
    }


def stream_user_record(row: dict[str, Any]) -> dict[str, Any]:
    settings = json.loads(row["settings"])
    return {
        "streamuser_id": row["id"],
        "app": row["app"],
        "stream": row["stream"],
        "user": row["user"] or None,
        # Whether publishing needs credentials; the password itself is never shown.
        "auth": "password" if row["user"] else "none",
        **{name: settings.get(name) for name in SETTINGS},
        "created": format_date(row["created"]),
        "updated": format_date(row["updated"]),
    }


# Tickets


def _owned_ticket(ctx: CallContext, key: str) -> dict[str, Any]:
    ticket = store.ticket_by_key(ctx.conn, key, ctx.account_id)
    if ticket is None:
        raise UnknownObject("ticket", key)
    return ticket


def _check_apps(ctx: CallContext, apps: str) -> None:
    # Names without a wildcard must be the account's applications; a wildcard is matched
    # against the account's applications only, when a viewer plays.
    literal = [entry for entry in rules.split_patterns(apps) if "*" not in entry]
    if literal:
        ctx.resolve_applications(literal)


def _expiry(ctx: CallContext, params: Any) -> datetime:
    given = params.expire if params.expire is not None else params.expires
    if given is None:
        return ctx.now + DEFAULT_LIFETIME
    name = "expire" if params.expire is not None else "expires"
    try:
        return parse_expiry(given, ctx.now)
    except ValueError:
        raise InvalidParameter(name, EXPIRE_EXPECTED) from None


@command(
    "sevu.request",
    params=SevuRequestParams,
    message="Ticket Created",
    summary="Issues a viewer ticket for applications and videos, an IP rule, uses and expiry.",
    payload_key="ticket",
    writes=True,
)
def sevu_request(ctx: CallContext, params: Any) -> dict[str, Any]:
    if ctx.signature:
        replay = store.ticket_by_signature(ctx.conn, ctx.account_id, ctx.signature)
        if replay is not None:
            return ticket_record(replay)
    _check_apps(ctx, params.app)
    values = {
        "account_id": ctx.account_id,
        "key": rules.new_key(params.video),
        "pass": getattr(params, "pass"),
        "app": params.app,
        "video": params.video,
        "ip": params.ip,
        "uses": params.uses,
        "used": 0,
        "active": True,
        "created": ctx.now,
        "used_date": None,
        "expire_date": _expiry(ctx, params),
        "signature": ctx.signature or None,
    }
    try:
        with ctx.conn.begin_nested():
            store.create_ticket(ctx.conn, values)
    except IntegrityError:
        # The same signed request twice at once (PostgreSQL): answer the first one's ticket.
        replay = store.ticket_by_signature(ctx.conn, ctx.account_id, ctx.signature)
        if replay is None:
            raise
        return ticket_record(replay)
    created = store.ticket_by_key(ctx.conn, values["key"])
    assert created is not None
    return ticket_record(created)


@command(
    "sevu.status",
    params=SevuKeyParams,
    message="Ticket Found",
    summary="A ticket: its rules, uses so far, last use and whether it is active.",
    payload_key="ticket",
)
def sevu_status(ctx: CallContext, params: SevuKeyParams) -> dict[str, Any]:
    return ticket_record(_owned_ticket(ctx, params.key))


@command(
    "sevu.revoke",
    params=SevuKeyParams,
    message="Ticket Revoked",
    summary="Revokes a ticket: no new playback starts at once, running ones within seconds.",
    payload_key="ticket",
    writes=True,
)
def sevu_revoke(ctx: CallContext, params: SevuKeyParams) -> dict[str, Any]:
    ticket = _owned_ticket(ctx, params.key)
    store.revoke(ctx.conn, ticket["id"])
    return ticket_record({**ticket, "active": False})


@command(
    "sevu.errorlog",
    params=SevuErrorLogParams,
    message="Found Attempts",
    summary="The attempt log of a ticket (or of the account), oldest first, from starttime.",
)
def sevu_errorlog(ctx: CallContext, params: SevuErrorLogParams) -> list[dict[str, Any]]:
    if params.key is not None:
        _owned_ticket(ctx, params.key)
    rows = store.attempts(
        ctx.conn, ctx.account_id, params.key, params.starttime, params.limit, params.seek
    )
    return [attempt_record(row) for row in rows]


@command(
    "sevu.errorcount",
    params=SevuErrorCountParams,
    message="Found Attempt Counts",
    summary="Attempts counted per key, pass, application, video, IP, outcome and reason.",
)
def sevu_errorcount(ctx: CallContext, params: Any) -> list[dict[str, Any]]:
    filters = {
        name: getattr(params, name)
        for name in ("key", "app", "video", "ip", "pass", "success")
        if getattr(params, name) is not None
    }
    rows = store.attempt_counts(ctx.conn, ctx.account_id, filters, params.limit, params.seek)
    return [
        {
            "key": row["key"],
            "pass": row["pass"],
            "app": row["app"],
            "video": row["video"],
            "ip": row["ip"],
            "success": 1 if row["success"] else 0,
            "reason": row["reason"],
            "attempts": row["attempts"],
            "first": format_date(row["first"]),
            "last": format_date(row["last"]),
        }
        for row in rows
    ]


# Stream users


def _one_application(ctx: CallContext, selector: list[int | str], field: str = "app") -> int:
    apps = ctx.resolve_applications(selector)
    if len(apps) != 1:
        raise InvalidParameter(field, "one application id or name")
    return int(apps[0]["id"])


@command(
    "sevu.addstreamuser",
    params=SevuAddStreamUserParams,
    message="Stream User Saved",
    summary=(
        "Publisher credentials for a stream (or every stream, '*') of an application; adding "
        "the same user again replaces its password and settings."
    ),
    writes=True,
)
def sevu_addstreamuser(ctx: CallContext, params: Any) -> dict[str, Any]:
    application_id = _one_application(ctx, params.app)
    password = getattr(params, "pass")
    if params.user is None and password is not None:
        raise InvalidParameter("pass", "null when user is null")
    if params.user is not None and not password:
        raise InvalidParameter("pass", "a password of 1 to 255 characters for the user")
    settings = {
        name: getattr(params, name) for name in SETTINGS if getattr(params, name) is not None
    }
    streamuser_id = store.save_stream_user(
        ctx.conn,
        {
            "account_id": ctx.account_id,
            "application_id": application_id,
            "stream": params.stream,
            "user": params.user or "",
            "password_hash": hash_password(password) if params.user is not None else None,
            "settings": json.dumps(settings),
            "created": ctx.now,
            "updated": ctx.now,
        },
    )
    saved = store.stream_user(ctx.conn, ctx.account_id, streamuser_id=streamuser_id)
    assert saved is not None
    return stream_user_record(saved)


def _named_stream_user(ctx: CallContext, params: SevuStreamUserParams) -> dict[str, Any]:
    if params.streamuser_id is not None:
        found = store.stream_user(ctx.conn, ctx.account_id, streamuser_id=params.streamuser_id)
        if found is None:
            raise UnknownObject("stream user", params.streamuser_id)
        return found
    if params.app is None or params.stream is None:
        raise InvalidParameter(
            "streamuser_id", f"{STREAMUSER_ID_EXPECTED}, or app, stream and user"
        )
    application_id = _one_application(ctx, params.app)
    found = store.stream_user(
        ctx.conn,
        ctx.account_id,
        application_id=application_id,
        stream=params.stream,
        user=params.user or "",
    )
    if found is None:
        raise UnknownObject("stream user", f"{params.stream}/{params.user or ''}")
    return found


@command(
    "sevu.removestreamuser",
    params=SevuStreamUserParams,
    message="Stream User Removed",
    summary="Removes a stream user, by streamuser_id or by app, stream and user.",
    writes=True,
)
def sevu_removestreamuser(ctx: CallContext, params: SevuStreamUserParams) -> dict[str, Any]:
    found = _named_stream_user(ctx, params)
    store.delete_stream_user(ctx.conn, found["id"])
    return stream_user_record(found)


@command(
    "sevu.liststreamusers",
    params=SevuListStreamUsersParams,
    message="Found Stream Users",
    summary="The account's stream users, optionally of some applications or one stream.",
)
def sevu_liststreamusers(
    ctx: CallContext, params: SevuListStreamUsersParams
) -> list[dict[str, Any]]:
    ids = None
    if params.app is not None:
        ids = [int(app["id"]) for app in ctx.resolve_applications(params.app)]
    rows = store.list_stream_users(ctx.conn, ctx.account_id, ids, params.stream)
    return [stream_user_record(row) for row in rows]


@command(
    "sevu.retrievestreamuser",
    params=SevuStreamUserParams,
    message="Found Stream User",
    summary="One stream user and its stream settings, by streamuser_id or app, stream and user.",
)
def sevu_retrievestreamuser(ctx: CallContext, params: SevuStreamUserParams) -> dict[str, Any]:
    return stream_user_record(_named_stream_user(ctx, params))

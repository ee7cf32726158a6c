"""Tickets, attempts and stream users: query functions (the caller owns the transaction).

A start consumes a use with one guarded UPDATE: it applies only if the row still has the
use count and IP rule the decision was taken on (and is still active), so two starts at once
on PostgreSQL can neither both take the last use nor both bind the same ``auto`` entry; the
loser decides again on the row as it now is.  SQLite serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from streampanel.store.tables import applications
from streampanel.store.tables.tickets import stream_users, ticket_attempts, tickets

# Ticket rows as the decision path and the commands read them.
_TICKET_COLUMNS = (
    tickets.c.id,
    tickets.c.account_id,
    tickets.c.key,
    tickets.c["pass"],
    tickets.c.app,
    tickets.c.video,
    tickets.c.ip,
    tickets.c.uses,
    tickets.c.used,
    tickets.c.active,
    tickets.c.created,
    tickets.c.used_date,
    tickets.c.expire_date,
)


def _one(conn: Connection, *where: Any) -> dict[str, Any] | None:
    row = conn.execute(select(*_TICKET_COLUMNS).where(*where)).mappings().first()
    return dict(row) if row is not None else None


def create_ticket(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(tickets.insert().values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def ticket_by_key(
    conn: Connection, key: str, account_id: int | None = None
) -> dict[str, Any] | None:
    """The ticket with ``key``; with ``account_id``, only if it is that account's."""
    where = [tickets.c.key == key]
    if account_id is not None:
        where.append(tickets.c.account_id == account_id)
    return _one(conn, *where)


def ticket_by_id(conn: Connection, ticket_id: int) -> dict[str, Any] | None:
    return _one(conn, tickets.c.id == ticket_id)


def ticket_by_signature(conn: Connection, account_id: int, signature: str) -> dict[str, Any] | None:
    return _one(conn, tickets.c.account_id == account_id, tickets.c.signature == signature)


def revoke(conn: Connection, ticket_id: int) -> None:
    conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(active=False))


def record_start(conn: Connection, ticket: Mapping[str, Any], ip_rule: str, when: datetime) -> bool:
    """Count one use of ``ticket`` (as read) and store its IP rule as ``ip_rule``; False when
    the row changed since it was read (decide again)."""
    result = conn.execute(
        update(tickets)
        .where(
            tickets.c.id == ticket["id"],
            tickets.c.used == ticket["used"],
            tickets.c.ip == ticket["ip"],
            tickets.c.active.is_(True),
        )
        .values(used=tickets.c.used + 1, used_date=when, ip=ip_rule)
    )
    return result.rowcount == 1


def application_owner(conn: Connection, name: str) -> int | None:
    """The account owning the application ``name`` (names are global), or None."""
    return conn.execute(
        select(applications.c.account_id).where(applications.c.name == name)
    ).scalar_one_or_none()


def purge_tickets(conn: Connection, expired_before: datetime) -> int:
    """Delete tickets that expired before ``expired_before``; returns how many went."""
    return conn.execute(delete(tickets).where(tickets.c.expire_date < expired_before)).rowcount


# Attempts


ATTEMPT_FIELDS = ("key", "pass", "ip", "app", "video", "protocol", "success", "reason")
_ATTEMPT_LIMITS = {"key": 96, "pass": 255, "ip": 64, "app": 200, "video": 500, "reason": 64}


def log_attempt(conn: Connection, account_id: int | None, when: datetime, **values: Any) -> None:
    row: dict[str, Any] = {"account_id": account_id, "created": when}
    for name in ATTEMPT_FIELDS:
        value = values[name]
        limit = _ATTEMPT_LIMITS.get(name)
        row[name] = value[:limit] if limit is not None else value
    conn.execute(ticket_attempts.insert().values(**row))


def attempts(
    conn: Connection,
    account_id: int,
    key: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """The account's attempts (one key's, with ``key``) from ``since``, oldest first."""
    where = [ticket_attempts.c.account_id == account_id]
    if key is not None:
        where.append(ticket_attempts.c.key == key)
    if since is not None:
        where.append(ticket_attempts.c.created >= since)
    query = (
        select(ticket_attempts)
        .where(*where)
        .order_by(ticket_attempts.c.created, ticket_attempts.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


COUNT_GROUP = ("key", "pass", "app", "video", "ip", "success", "reason")


def attempt_counts(
    conn: Connection,
    account_id: int,
    filters: Mapping[str, Any],
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Attempts counted per (key, pass, app, video, ip, success, reason), with the first and
    last time of each, most attempts first; ``filters`` are exact values of those columns."""
    group = [ticket_attempts.c[name] for name in COUNT_GROUP]
    where = [ticket_attempts.c.account_id == account_id]
    where += [ticket_attempts.c[name] == value for name, value in filters.items()]
    count = func.count().label("attempts")
    query = (
        select(
            *group,
            count,
            func.min(ticket_attempts.c.created).label("first"),
            func.max(ticket_attempts.c.created).label("last"),
        )
        .where(*where)
        .group_by(*group)
        .order_by(count.desc(), *group)
        .limit(limit)
        .offset(offset)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def purge_attempts(conn: Connection, before: datetime, limit: int) -> int:
    """Delete at most ``limit`` attempts older than ``before`` (oldest first): the caller
    repeats in short transactions, so decisions logging attempts never wait long."""
    oldest = (
        select(ticket_attempts.c.id)
        .where(ticket_attempts.c.created < before)
        .order_by(ticket_attempts.c.created)
        .limit(limit)
    )
    return conn.execute(delete(ticket_attempts).where(ticket_attempts.c.id.in_(oldest))).rowcount


# Stream users


def save_stream_user(conn: Connection, values: Mapping[str, Any]) -> int:
    """Insert the stream user, or replace the password and settings of the one with the same
    application, stream and user; returns its id."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(stream_users).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["application_id", "stream", "user"],
        set_={
            "password_hash": statement.excluded.password_hash,
            "settings": statement.excluded.settings,
            "updated": statement.excluded.updated,
        },
    )
    conn.execute(statement)
    found = conn.execute(
        select(stream_users.c.id).where(
            stream_users.c.application_id == values["application_id"],
            stream_users.c.stream == values["stream"],
            stream_users.c.user == values["user"],
        )
    ).scalar_one()
    return int(found)


_STREAM_USER_COLUMNS = (
    stream_users.c.id,
    stream_users.c.account_id,
    stream_users.c.application_id,
    applications.c.name.label("app"),
    stream_users.c.stream,
    stream_users.c.user,
    stream_users.c.password_hash,
    stream_users.c.settings,
    stream_users.c.created,
    stream_users.c.updated,
)
_STREAM_USERS = select(*_STREAM_USER_COLUMNS).join(
    applications, applications.c.id == stream_users.c.application_id
)


def stream_user(
    conn: Connection,
    account_id: int,
    *,
    streamuser_id: int | None = None,
    application_id: int | None = None,
    stream: str | None = None,
    user: str | None = None,
) -> dict[str, Any] | None:
    """The account's stream user by id, or by application, stream and user."""
    where = [stream_users.c.account_id == account_id]
    if streamuser_id is not None:
        where.append(stream_users.c.id == streamuser_id)
    else:
        where += [
            stream_users.c.application_id == application_id,
            stream_users.c.stream == stream,
            stream_users.c.user == user,
        ]
    row = conn.execute(_STREAM_USERS.where(*where)).mappings().first()
    return dict(row) if row is not None else None


def list_stream_users(
    conn: Connection,
    account_id: int,
    application_ids: Sequence[int] | None = None,
    stream: str | None = None,
) -> list[dict[str, Any]]:
    where = [stream_users.c.account_id == account_id]
    if application_ids is not None:
        where.append(stream_users.c.application_id.in_(application_ids))
    if stream is not None:
        where.append(stream_users.c.stream == stream)
    query = _STREAM_USERS.where(*where).order_by(stream_users.c.id)
    return [dict(row) for row in conn.execute(query).mappings()]


def delete_stream_user(conn: Connection, streamuser_id: int) -> None:
    conn.execute(delete(stream_users).where(stream_users.c.id == streamuser_id))


def publishers(conn: Connection, app: str, stream: str) -> list[dict[str, Any]]:
    """The stream users that may publish ``stream`` on the application named ``app``: the
    stream's own and the application's ``*`` entries."""
    query = _STREAM_USERS.where(
        and_(
            applications.c.name == app,
            or_(stream_users.c.stream == stream, stream_users.c.stream == "*"),
        )
    )
    return [dict(row) for row in conn.execute(query).mappings()]

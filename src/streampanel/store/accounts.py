"""Accounts, API keys, applications, servers and storage users."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, bindparam, select, update

from streampanel.secretbox import SecretBox
from streampanel.store.driverquery import DriverQuery
from streampanel.store.tables import accounts, api_keys, applications, servers, storage_users


def utcnow() -> datetime:
    """Naive UTC, as stored (both stores keep DateTime without zone)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class ApiKey:
    id: int
    account_id: int
    api_key: str
    secret: str
    read_only: bool
    label: str


def create_account(conn: Connection, account_id: int, name: str) -> int:
    conn.execute(accounts.insert().values(id=account_id, name=name, created=utcnow()))
    return account_id


def get_account(conn: Connection, account_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().first()
    return dict(row) if row else None


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(accounts).order_by(accounts.c.id)).mappings()]


def create_api_key(
    conn: Connection,
    box: SecretBox,
    account_id: int,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    read_only: bool = False,
    label: str = "",
) -> tuple[str, str]:
    """Create a key; returns ``(api_key, secret)``.  The secret is shown only here."""
    api_key = api_key or secrets.token_hex(16).upper()
    secret = secret or secrets.token_hex(32)
    conn.execute(
        api_keys.insert().values(
            account_id=account_id,
            api_key=api_key,
            secret_sealed=box.seal(secret),
            read_only=read_only,
            label=label,
            created=utcnow(),
        )
    )
    return api_key, secret


def find_active_key(conn: Connection, box: SecretBox, api_key: str) -> ApiKey | None:
    if "\x00" in api_key:
        # No key holds NUL, and PostgreSQL would refuse to compare it (an error, not a miss).
        return None
    row = conn.execute(
        select(api_keys).where(api_keys.c.api_key == api_key, api_keys.c.revoked.is_(None))
    ).first()
    if row is None:
        return None
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        api_key=row.api_key,
        secret=box.open(row.secret_sealed),
        read_only=row.read_only,
        label=row.label,
    )


def list_api_keys(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """Key metadata only: secrets are never read back out."""
    query = (
        select(
            api_keys.c.id,
            api_keys.c.api_key,
            api_keys.c.label,
            api_keys.c.read_only,
            api_keys.c.created,
            api_keys.c.revoked,
        )
        .where(api_keys.c.account_id == account_id)
        .order_by(api_keys.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def revoke_api_key(conn: Connection, api_key: str) -> bool:
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.api_key == api_key, api_keys.c.revoked.is_(None))
        .values(revoked=utcnow())
    )
    return result.rowcount > 0


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def create_application(conn: Connection, account_id: int, name: str) -> int:
    result = conn.execute(
        applications.insert().values(account_id=account_id, name=name, created=utcnow())
    )
    ApplicationCache.note_change()
    return _new_id(result)


# On most requests' path (application selectors, video.getapps): compiled once.
_ACCOUNT_APPLICATIONS = DriverQuery(
    select(applications.c.id, applications.c.name)
    .where(applications.c.account_id == bindparam("account_id"))
    .order_by(applications.c.id)
)


def list_applications(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """The account's applications, ``[{id, name}]`` by id."""
    rows = _ACCOUNT_APPLICATIONS.rows(conn, {"account_id": account_id})
    return [{"id": row[0], "name": row[1]} for row in rows]


class ApplicationCache:
    """Each account's applications (``list_applications``), kept per process for ``seconds``.

    They are on most requests' path (``video.getapps``, every application selector), where a
    store read costs more than the rest of the request: file locks on SQLite, a round trip on
    PostgreSQL.  Applications are only ever added.  One added by this process is seen at once;
    one added by another process (``streampanel admin``) within ``seconds``.  0 disables it.
    The lists are shared: callers must not change them.
    """

    # Bumped by every application write in this process: entries from before are stale.
    _generation = 0

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[int, tuple[float, int, list[dict[str, Any]]]] = {}

    @classmethod
    def note_change(cls) -> None:
        cls._generation += 1

    def get(self, conn: Connection, account_id: int) -> list[dict[str, Any]]:
        now = self.clock()
        entry = self._entries.get(account_id)
        if entry is not None and entry[0] > now and entry[1] == ApplicationCache._generation:
            return entry[2]
        generation = ApplicationCache._generation
        apps = list_applications(conn, account_id)
        if self.seconds > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[account_id] = (now + self.seconds, generation, apps)
        return apps


def application_ids_by_name(conn: Connection) -> dict[str, tuple[int, int]]:
    """``name -> (application id, account id)`` for every application (ingestion's map)."""
    rows = conn.execute(select(applications.c.name, applications.c.id, applications.c.account_id))
    return {r.name: (r.id, r.account_id) for r in rows}


def create_server(conn: Connection, name: str, location: str = "") -> int:
    result = conn.execute(servers.insert().values(name=name, location=location))
    return _new_id(result)


def get_or_create_server(conn: Connection, name: str, location: str = "") -> int:
    row = conn.execute(select(servers.c.id).where(servers.c.name == name)).first()
    return int(row.id) if row else create_server(conn, name, location)


def list_servers(conn: Connection) -> list[dict[str, Any]]:
    query = select(servers.c.id, servers.c.name, servers.c.location).order_by(servers.c.name)
    return [dict(r) for r in conn.execute(query).mappings()]


def create_storage_user(conn: Connection, account_id: int, name: str) -> int:
    result = conn.execute(
        storage_users.insert().values(account_id=account_id, name=name, created=utcnow())
    )
    return _new_id(result)


def list_storage_users(conn: Connection, account_id: int | None = None) -> list[dict[str, Any]]:
    query = select(storage_users.c.id, storage_users.c.account_id, storage_users.c.name)
    if account_id is not None:
        query = query.where(storage_users.c.account_id == account_id)
    return [dict(r) for r in conn.execute(query.order_by(storage_users.c.name)).mappings()]

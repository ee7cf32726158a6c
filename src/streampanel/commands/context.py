"""What a command handler gets besides its parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection

from streampanel.errors import UnknownApplication
from streampanel.protocol.request import as_integer
from streampanel.secretbox import SecretBox
from streampanel.settings import Settings
from streampanel.store.accounts import ApiKey, ApplicationCache


@dataclass
class CallContext:
    account_id: int
    key: ApiKey
    conn: Connection
    settings: Settings
    box: SecretBox
    clock: Callable[[], float]
    applications: ApplicationCache
    # The request's signature: commands that create things are idempotent on it.
    signature: str = ""

    @cached_property
    def now(self) -> datetime:
        """The request's time, naive UTC to the second (computed only by handlers using it)."""
        return datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None, microsecond=0)

    def account_applications(self) -> list[dict[str, Any]]:
        """The account's applications, ``[{id, name}]`` by id (shared: do not change)."""
        return self.applications.get(self.conn, self.account_id)

    def resolve_applications(self, selector: Iterable[int | str]) -> list[dict[str, Any]]:
        """The account's applications named by ids and names, in order, without repeats.

        An element that is not this account's application is ``Unknown application``,
        whether or not it exists in another account.
        """
        owned = self.account_applications()
        by_id = {a["id"]: a for a in owned}
        by_name = {a["name"]: a for a in owned}
        found: dict[int, dict[str, Any]] = {}
        for item in selector:
            if isinstance(item, int):
                app = by_id.get(item)
            else:
                # A digit string is a name first, then an id (form-built clients send ids so);
                # only ASCII digits make an id ('²' is a name like any other).
                app = by_name.get(item)
                if app is None:
                    number = as_integer(item)
                    app = None if number is None else by_id.get(number)
            if app is None:
                raise UnknownApplication(item)
            found.setdefault(app["id"], app)
        return list(found.values())

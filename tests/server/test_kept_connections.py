"""The API threads' own store connections (``Dispatcher``): kept between requests instead of
a pool check-out per request, replaced when the store dropped them without a failed request,
and given back when the dispatcher closes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from streampanel.api import Dispatcher, Outcome
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import signed_json


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Dispatcher]:
    # No rate limit: on PostgreSQL its batches of tokens take connections of their own.
    settings = runtime.settings.model_copy(update={"api_threads": 2, "rate_limit_per_second": 0})
    dispatcher = Dispatcher(settings, runtime.engine, runtime.box)
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def checkouts(runtime: Runtime) -> Iterator[list[int]]:
    seen: list[int] = []

    def count(*_args: Any) -> None:
        seen.append(1)

    event.listen(runtime.engine.pool, "checkout", count)
    yield seen
    event.remove(runtime.engine.pool, "checkout", count)


def answers(api: Dispatcher, creds: Credentials, n: int) -> list[int]:
    """``n`` aws.status requests (a reading command run in an API thread), one at a time."""

    async def run() -> list[int]:
        codes = []
        for _ in range(n):
            raw = signed_json(creds, "aws.status").encode()
            answered = api.answer(raw, time.perf_counter())
            assert not isinstance(answered, Outcome), "aws.status runs in an API thread"
            outcome = await answered
            codes.append(outcome.body["code"])
        return codes

    return asyncio.run(run())


def test_reading_commands_take_no_connection_from_the_pool_once_a_thread_has_one(
    api: Dispatcher, make_account: MakeAccount, checkouts: list[int]
) -> None:
    creds = make_account(301, storage_users=("sestore1",))
    before = len(checkouts)
    assert answers(api, creds, 60) == [200] * 60
    # One for the key's lookup (then cached), one per API thread that ran a request.
    assert 2 <= len(checkouts) - before <= 1 + api.settings.api_threads


def test_a_caller_thread_borrows_from_the_pool_and_keeps_nothing(
    runtime: Runtime, api: Dispatcher, make_account: MakeAccount
) -> None:
    creds = make_account(302, storage_users=("sestore1",))
    before = runtime.engine.pool.checkedout()  # type: ignore[attr-defined]
    for _ in range(3):
        assert api.handle(signed_json(creds, "aws.status").encode()).body["code"] == 200
    assert runtime.engine.pool.checkedout() == before  # type: ignore[attr-defined]


def test_closing_gives_every_kept_connection_back(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(303, storage_users=("sestore1",))
    before = runtime.engine.pool.checkedout()  # type: ignore[attr-defined]
    api = Dispatcher(runtime.settings, runtime.engine, runtime.box)
    assert answers(api, creds, 5) == [200] * 5
    assert runtime.engine.pool.checkedout() > before  # type: ignore[attr-defined]
    api.close()
    assert runtime.engine.pool.checkedout() == before  # type: ignore[attr-defined]


def test_a_kept_connection_the_server_closed_is_replaced_without_a_failed_request(
    runtime: Runtime, api: Dispatcher, make_account: MakeAccount, checkouts: list[int]
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite connection is a file, not a server's session")
    creds = make_account(304, storage_users=("sestore1",))
    assert answers(api, creds, 4) == [200] * 4
    taken = len(checkouts)
    with runtime.engine.connect() as admin:
        # Every other session of this database: the API threads' kept ones among them.
        killed = admin.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    assert killed >= 1
    time.sleep(0.2)  # the server's goodbye reaches the kept connections' sockets
    assert answers(api, creds, 6) == [200] * 6
    assert len(checkouts) > taken  # fresh connections were taken

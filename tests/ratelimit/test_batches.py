"""The PostgreSQL limiter's batches (``streampanel.api.ratelimit``): tokens taken from the
shared bucket a batch at a time and spent locally, within the documented accuracy; most
requests cost no statement.  Two dispatchers stand for two API processes; a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from streampanel.api import Dispatcher
from streampanel.api.ratelimit import LEASE_SECONDS
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount
from tests.ratelimit.test_ratelimit import NOW, Clock, request


@pytest.fixture
def pg(runtime: Runtime) -> Runtime:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("batches are how API processes share the PostgreSQL bucket")
    return runtime


@pytest.fixture
def takes(pg: Runtime) -> Iterator[list[str]]:
    """Every statement that touches the shared buckets."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "rate_buckets" in statement:
            seen.append(statement)

    event.listen(pg.engine, "before_cursor_execute", count)
    yield seen
    event.remove(pg.engine, "before_cursor_execute", count)


def dispatcher(runtime: Runtime, clock: Clock, rate: float, burst: int) -> Dispatcher:
    settings = runtime.settings.model_copy(
        update={"rate_limit_per_second": rate, "rate_limit_burst": burst}
    )
    return Dispatcher(settings, runtime.engine, runtime.box, clock=clock)


def codes(api: Dispatcher, creds: Credentials, clock: Clock, n: int) -> list[int]:
    return [api.handle(request(creds, clock.now)).body["code"] for _ in range(n)]


def test_two_processes_let_through_exactly_the_burst_without_refill(
    pg: Runtime, make_account: MakeAccount, takes: list[str]
) -> None:
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    # 1000 per second, bursts of 40: batches of up to 10 tokens (a quarter of the burst).
    one, two = dispatcher(pg, clock, 1000, 40), dispatcher(pg, clock, 1000, 40)
    assert one.limiter.batch == 10
    answers = []
    for _ in range(30):
        answers += codes(one, creds, clock, 2) + codes(two, creds, clock, 2)
    # The clock stands still: the bucket's 40 tokens, every one spent, none twice.
    assert answers.count(200) == 40
    assert set(answers) == {200, 429}
    # Batches of 1, 2, 4, 8, 10...: far fewer statements than requests.
    assert len(takes) < 30


def test_a_busy_process_takes_one_statement_per_batch(
    pg: Runtime, make_account: MakeAccount, takes: list[str]
) -> None:
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    api = dispatcher(pg, clock, 10_000, 400)  # batches of up to 100
    for _ in range(20):
        assert set(codes(api, creds, clock, 50)) == {200}
        clock.now += 0.005  # 50 requests in 5 ms: each batch spent within its lease
    # 1000 requests: batches of 1, 2, 4 ... 64, then 100 each.
    assert len(takes) <= 7 + 1000 // 100 + 1


def test_unspent_tokens_go_back_to_the_shared_bucket(
    pg: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    # 100 per second, bursts of 40: batches of up to 10; a lease refills 10 tokens.
    one, two = dispatcher(pg, clock, 100, 40), dispatcher(pg, clock, 100, 40)
    # One process grows its batch (1, 2, 4, then 8 tokens) and holds the last one unspent.
    assert codes(one, creds, clock, 8) == [200] * 8
    held = one.limiter._leases[creds_key(pg, creds)].tokens
    assert held == 7
    # The other gets only what is left: the held tokens are refused early, as documented.
    assert codes(two, creds, clock, 40).count(200) == 40 - 8 - held
    # Once the lease has expired, the first process's next take gives them back: the bucket
    # holds what it refilled (10) and the 7 returned, of which that take gets 10 (its
    # largest batch) and the other process the remaining 7.
    clock.now += LEASE_SECONDS + 0.001
    assert codes(one, creds, clock, 1) == [200]
    assert codes(two, creds, clock, 10).count(200) == 7


def creds_key(runtime: Runtime, creds: Credentials) -> int:
    from streampanel.store import accounts

    with runtime.engine.connect() as conn:
        key = accounts.find_active_key(conn, runtime.box, creds.api_key)
    assert key is not None
    return key.id


def test_refusals_cost_no_statement_until_a_token_can_exist(
    pg: Runtime, make_account: MakeAccount, takes: list[str]
) -> None:
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    api = dispatcher(pg, clock, 2, 3)  # at 2 per second every request takes its own token
    assert codes(api, creds, clock, 3) == [200] * 3
    before = len(takes)
    assert codes(api, creds, clock, 50) == [429] * 50
    assert len(takes) == before + 1  # the refusal that found the bucket empty
    clock.now += 0.5  # one token has come back
    assert codes(api, creds, clock, 2) == [200, 429]
    assert clock.now == NOW + 0.5

"""Per-key token buckets: 429 with Retry-After, refill over time, shared by API processes on
PostgreSQL (two dispatchers here stand for two processes: they share nothing but the store)."""

from __future__ import annotations

import pytest

from streampanel.api import Dispatcher
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import signed_json

NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def request(creds: Credentials, timestamp: float) -> bytes:
    return signed_json(creds, "video.getapps", timestamp=timestamp).encode()


def dispatcher(runtime: Runtime, clock: Clock, rate: float = 2.0, burst: int = 5) -> Dispatcher:
    settings = runtime.settings.model_copy(
        update={"rate_limit_per_second": rate, "rate_limit_burst": burst}
    )
    return Dispatcher(settings, runtime.engine, runtime.box, clock=clock)


def test_burst_then_429_with_retry_after_then_refill(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    api = dispatcher(runtime, clock)
    codes = [api.handle(request(creds, clock.now)).body["code"] for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    refused = api.handle(request(creds, clock.now))
    assert refused.http_status == 429
    assert refused.body["status"] == "failure"
    assert "Rate limit exceeded" in refused.body["message"]
    assert refused.headers["Retry-After"] == "1"
    clock.now += 1.0  # 2 tokens per second
    codes = [api.handle(request(creds, clock.now)).body["code"] for _ in range(3)]
    assert codes == [200, 200, 429]


def test_buckets_are_per_key(runtime: Runtime, make_account: MakeAccount) -> None:
    first = make_account(158, apps=("demo-origin",))
    second = make_account(159, apps=("other",))
    clock = Clock()
    api = dispatcher(runtime, clock, burst=2)
    assert [api.handle(request(first, NOW)).body["code"] for _ in range(3)] == [200, 200, 429]
    assert api.handle(request(second, NOW)).body["code"] == 200


def test_bad_signatures_do_not_drain_the_bucket(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("demo-origin",))
    forged = Credentials(creds.cdn, creds.api_key, "0" * 64)
    clock = Clock()
    api = dispatcher(runtime, clock, burst=2)
    for _ in range(10):
        assert api.handle(request(forged, NOW)).body["code"] == 401
    assert api.handle(request(creds, NOW)).body["code"] == 200


def test_shared_between_processes_on_postgresql(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("buckets are per process on SQLite (one embedded process)")
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    one, two = dispatcher(runtime, clock, burst=6), dispatcher(runtime, clock, burst=6)
    codes = [d.handle(request(creds, NOW)).body["code"] for d in (one, two) * 4]
    assert codes.count(200) == 6
    assert codes[-2:] == [429, 429]


def test_zero_rate_disables(runtime: Runtime, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("demo-origin",))
    api = dispatcher(runtime, Clock(), rate=0, burst=1)
    assert {api.handle(request(creds, NOW)).body["code"] for _ in range(20)} == {200}


def test_a_clock_seen_running_backwards_never_drains(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    # Several API processes read their clocks before queueing on the shared row.
    creds = make_account(158, apps=("demo-origin",))
    clock = Clock()
    api = dispatcher(runtime, clock, rate=1_000_000, burst=3)
    codes = []
    for offset in (0.0, -0.5, 0.001, -0.2, 0.002, -1.0):
        clock.now = NOW + offset
        codes.append(api.handle(request(creds, clock.now)).body["code"])
    assert codes == [200] * 6

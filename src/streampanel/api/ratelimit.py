"""Per-key rate limits: a token bucket of ``rate_limit_burst`` tokens refilled at
``rate_limit_per_second``.

On SQLite (one embedded process) the buckets live in memory, exactly.

On PostgreSQL they live in the store, shared by every API process, but a request does not
go to the store for its token: a process takes a *batch* of tokens from the shared bucket in
one statement and spends it locally, so most requests cost no round trip.  A process's first
batch for a key is one token; it doubles while each batch is spent within ``LEASE_SECONDS``
and halves when one was not, up to ``ceil(rate × LEASE_SECONDS)`` tokens and a quarter of
the burst (so at 10 requests per second or less every request takes its own token from the
store, exactly as without batches).  Tokens a process has not spent within ``LEASE_SECONDS``
go back to the shared bucket with its next take.  With P API processes and a largest batch
of B tokens, that means:

- a key gets at most ``burst + rate × t + P × (B - 1)`` requests in any t seconds;
- a key is refused only when the shared bucket is empty, except that up to ``P × (B - 1)``
  of its tokens may sit unspent in other processes for at most ``LEASE_SECONDS`` (or until
  a process that stops holding them takes again: a process that exits loses them);
- a process refused by the store refuses locally until the bucket can hold a token again
  (at most 1/rate seconds), so a flood of refused requests costs no round trips either.

With the defaults (50 per second, bursts of 200) B is 5: two API processes may let through
8 requests more than the bucket holds, or refuse as many early, for a tenth of a second.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from streampanel.errors import RateLimited
from streampanel.settings import Settings
from streampanel.store.outage import once_more_if_stale
from streampanel.store.ratelimits import take_tokens

# How long a process may hold tokens it took from the shared bucket before giving them back.
LEASE_SECONDS = 0.1
# A batch is at most this share of the burst, so other processes still find tokens.  (The
# largest batch, ``RateLimiter.batch``; a process starts with one token.)
BATCH_SHARE_OF_BURST = 4
# Keys with local state kept at most (a process serves few keys; forgetting one costs a take).
_MAX_KEYS = 10_000


@dataclass(slots=True)
class _Lease:
    tokens: int = 0  # taken from the shared bucket, not yet spent
    expires: float = 0.0  # after this, unspent tokens go back
    empty_until: float = 0.0  # the shared bucket has no whole token before this
    taking: bool = False  # a thread is taking a batch from the store
    want: int = 1  # the next batch's size


class RateLimiter:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Callable[[], float] = time.time,
    ):
        self.rate = settings.rate_limit_per_second
        self.burst = float(settings.rate_limit_burst)
        # One statement, its own transaction: no BEGIN and COMMIT round trips around it.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.clock = clock
        self.shared = engine.dialect.name == "postgresql"
        self.batch = max(
            1, min(math.ceil(self.rate * LEASE_SECONDS), int(self.burst) // BATCH_SHARE_OF_BURST)
        )
        self._buckets: dict[int, tuple[float, float]] = {}
        self._leases: dict[int, _Lease] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(threading.Lock())

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, key_id: int) -> None:
        """Take a token for one request of this key, or raise ``RateLimited``.

        On PostgreSQL this may wait for the store (one statement): call it off the event loop.
        """
        if not self.enabled:
            return
        now = self.clock()
        take = self._take_shared if self.shared else self._take_in_memory
        wait = take(key_id, now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise RateLimited(
                f"Rate limit exceeded: {self.rate:g} requests per second "
                f"(bursts of {self.burst:g}) per API key; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    def _take_in_memory(self, key_id: int, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        with self._lock:
            tokens, updated = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - updated) * self.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key_id] = (tokens, max(now, updated))
        return 0.0 if allowed else (1 - tokens) / self.rate

    def _take_shared(self, key_id: int, now: float) -> float:
        """As ``_take_in_memory``, from this process's batch of the shared bucket, taking a
        new batch from the store when it is spent or expired.

        One thread of the process takes for a key at a time; the others wait for its batch
        rather than each draining the shared bucket by a batch of their own.
        """
        with self._changed:
            lease = self._leases.get(key_id)
            if lease is None:
                if len(self._leases) >= _MAX_KEYS:
                    self._leases.clear()
                lease = self._leases[key_id] = _Lease()
            while True:
                if lease.tokens > 0 and now < lease.expires:
                    lease.tokens -= 1
                    return 0.0
                if now < lease.empty_until:
                    return lease.empty_until - now
                if not lease.taking:
                    break
                self._changed.wait()
                now = self.clock()
            lease.taking = True
            returned, lease.tokens = lease.tokens, 0
            want = lease.want
        try:
            granted, left = once_more_if_stale(
                lambda: self._take_from_store(key_id, now, want, returned)
            )
        except BaseException:
            with self._changed:
                lease.taking = False
                self._changed.notify_all()
            raise
        with self._changed:
            lease.taking = False
            self._changed.notify_all()
            # Spent in time: a larger batch next; left over: a smaller one.
            lease.want = max(1, want // 2) if returned else min(self.batch, want * 2)
            if granted >= 1:
                lease.tokens += granted - 1
                lease.expires = now + LEASE_SECONDS
                return 0.0
            wait = (1 - left) / self.rate
            lease.empty_until = now + wait
            return wait

    def _take_from_store(
        self, key_id: int, now: float, want: int, returned: int
    ) -> tuple[int, float]:
        with self.engine.connect() as conn:
            return take_tokens(conn, key_id, now, self.rate, self.burst, want, returned)

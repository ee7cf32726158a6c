"""Per-key rate limits: a token bucket of ``rate_limit_burst`` tokens refilled at
``rate_limit_per_second``.  On PostgreSQL the buckets live in the store, so every API process
shares them; on SQLite (one embedded process) they live in memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from streampanel.errors import RateLimited
from streampanel.settings import Settings
from streampanel.store.ratelimits import take_token


class RateLimiter:
    def __init__(self, settings: Settings, engine: Engine, clock: Callable[[], float] = time.time):
        self.rate = settings.rate_limit_per_second
        self.burst = float(settings.rate_limit_burst)
        self.engine = engine
        self.clock = clock
        self.shared = engine.dialect.name == "postgresql"
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, key_id: int) -> None:
        """Take a token for one request of this key, or raise ``RateLimited``."""
        if not self.enabled:
            return
        now = self.clock()
        if self.shared:
            with self.engine.begin() as conn:
                allowed, tokens = take_token(conn, key_id, now, self.rate, self.burst)
        else:
            allowed, tokens = self._take_in_memory(key_id, now)
        if not allowed:
            retry_after = max(1, math.ceil((1 - tokens) / self.rate))
            raise RateLimited(
                f"Rate limit exceeded: {self.rate:g} requests per second "
                f"(bursts of {self.burst:g}) per API key; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    def _take_in_memory(self, key_id: int, now: float) -> tuple[bool, float]:
        with self._lock:
            tokens, updated = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - updated) * self.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key_id] = (tokens, max(now, updated))
            return allowed, tokens

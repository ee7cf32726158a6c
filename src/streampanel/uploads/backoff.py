"""Retry spacing: exponential backoff with jitter, capped."""

from __future__ import annotations

import random


def delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry).

    Jitter (a uniform draw between half the exponential ceiling and the ceiling) spreads
    the retries of many jobs that failed together — e.g. when the remote store came back —
    instead of having them all return at the same instant; the floor keeps a retry from
    coming back at once.
    """
    ceiling = min(cap, base * 2.0 ** max(attempt - 1, 0))
    draw = (rng or random).uniform(0.5, 1.0)
    return ceiling * draw

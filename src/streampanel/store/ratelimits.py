"""Token-bucket rate limiting in the store: one atomic statement per request."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Refill, take a token if there is one, and remember whether it was taken, in one statement:
# concurrent requests of several API processes serialise on the row.  Their clocks are read
# before they queue on the row, so time may seem to run backwards: never refill negatively.
_TAKE = text(
    """
    INSERT INTO rate_buckets (api_key_id, tokens, updated, allowed)
    VALUES (:key, :burst - 1, :now, true)
    ON CONFLICT (api_key_id) DO UPDATE SET
        tokens = CASE
            WHEN LEAST(:burst, rate_buckets.tokens + GREATEST(0, :now - rate_buckets.updated) * :rate) >= 1
            THEN LEAST(:burst, rate_buckets.tokens + GREATEST(0, :now - rate_buckets.updated) * :rate) - 1
            ELSE LEAST(:burst, rate_buckets.tokens + GREATEST(0, :now - rate_buckets.updated) * :rate)
        END,
        allowed = LEAST(:burst, rate_buckets.tokens + GREATEST(0, :now - rate_buckets.updated) * :rate) >= 1,
        updated = GREATEST(rate_buckets.updated, :now)
    RETURNING allowed, tokens
    """
)


def take_token(
    conn: Connection, key_id: int, now: float, rate: float, burst: float
) -> tuple[bool, float]:
    """``(allowed, tokens left)`` for one request of ``key_id`` (PostgreSQL)."""
    row = conn.execute(
        _TAKE, {"key": key_id, "now": now, "rate": rate, "burst": float(burst)}
    ).one()
    return bool(row[0]), float(row[1])

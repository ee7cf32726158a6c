"""Token-bucket rate limiting in the store: one atomic statement per request."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Refill, take a token if there is one, and remember whether it was taken, in one statement:
# concurrent requests of several API processes serialise on the row.  Their clocks are read
# before they queue on the row, so time may seem to run backwards: never refill negatively.
_REFILLED = "LEAST(:burst, b.tokens + GREATEST(0, :now - b.updated) * :rate)"
_TAKE = text(
    f"""
    INSERT INTO rate_buckets AS b (api_key_id, tokens, updated, allowed)
    VALUES (:key, :burst - 1, :now, true)
    ON CONFLICT (api_key_id) DO UPDATE SET
        tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
        allowed = {_REFILLED} >= 1,
        updated = GREATEST(b.updated, :now)
    RETURNING allowed, tokens
    """  # noqa: S608 (composed of constants only)
)


def take_token(
    conn: Connection, key_id: int, now: float, rate: float, burst: float
) -> tuple[bool, float]:
    """``(allowed, tokens left)`` for one request of ``key_id`` (PostgreSQL)."""
    row = conn.execute(
        _TAKE, {"key": key_id, "now": now, "rate": rate, "burst": float(burst)}
    ).one()
    return bool(row[0]), float(row[1])

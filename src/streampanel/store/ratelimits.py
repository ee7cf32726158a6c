"""Token buckets in the store (PostgreSQL), shared by every API process: one atomic
statement takes a batch of tokens."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Refill, give back the tokens a process did not spend, grant up to :want whole tokens, and
# remember how many, in one statement: concurrent takes of several API processes serialise
# on the row (every SET expression reads the row as it was).  Their clocks are read before
# they queue on the row, so time may seem to run backwards: never refill negatively.
_REFILLED = "LEAST(:burst, b.tokens + GREATEST(0, :now - b.updated) * :rate + :returned)"
_GRANT = f"LEAST(:want, FLOOR({_REFILLED}))"
_TAKE = text(
    f"""
    INSERT INTO rate_buckets AS b (api_key_id, tokens, updated, allowed, granted)
    VALUES (:key, :burst - LEAST(:want, FLOOR(:burst)), :now, :burst >= 1,
            LEAST(:want, FLOOR(:burst)))
    ON CONFLICT (api_key_id) DO UPDATE SET
        granted = {_GRANT},
        tokens = {_REFILLED} - {_GRANT},
        allowed = {_GRANT} >= 1,
        updated = GREATEST(b.updated, :now)
    RETURNING granted, tokens
    """  # noqa: S608 (composed of constants only)
)


def take_tokens(
    conn: Connection,
    key_id: int,
    now: float,
    rate: float,
    burst: float,
    want: int,
    returned: int = 0,
) -> tuple[int, float]:
    """Up to ``want`` tokens of ``key_id``'s bucket, after giving back ``returned`` unspent
    ones: ``(tokens granted, tokens left in the bucket)``."""
    row = conn.execute(
        _TAKE,
        {
            "key": key_id,
            "now": now,
            "rate": rate,
            "burst": float(burst),
            "want": want,
            "returned": returned,
        },
    ).one()
    return int(row[0]), float(row[1])

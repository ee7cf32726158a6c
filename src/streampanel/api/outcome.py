"""What a request comes to (its envelope, HTTP status and headers), and the one function that
turns an ``ApiError`` into a failure envelope: the API, the panel, the push route and the
error pages all answer failures through ``failure_outcome``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from streampanel.errors import ApiError
from streampanel.protocol import envelope


@dataclass(slots=True)
class Outcome:
    body: dict[str, Any]
    http_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    command: str = "-"
    cdn: int | None = None


def failure_outcome(error: ApiError, started: float, outcome: Outcome | None = None) -> Outcome:
    """``error`` as the failure envelope with its HTTP status and headers.

    ``started`` is ``time.perf_counter()`` when the request arrived (for ``handle_time``);
    ``outcome``, when given, is the request's own (already naming its command and cdn) and is
    filled in rather than a new one made.
    """
    if outcome is None:
        outcome = Outcome(body={})
    outcome.body = envelope.failure(error, time.perf_counter() - started)
    outcome.http_status = error.http_status
    outcome.headers = error.headers
    return outcome

"""The panel's one way to data: a registry command run for the signed-in key through the
API dispatcher's own pieces (parameter model, rate limit, transaction, handler, envelope).

No second query path: the panel gets exactly what ``POST /stable/`` would answer the same
key.  Only the signature check is skipped, because the session already proved the secret.
The panel only reads: commands that create something are refused as for a read-only key.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from streampanel.commands import REGISTRY
from streampanel.errors import ApiError, ScopeDenied, UnknownCommand
from streampanel.protocol import envelope
from streampanel.server.dispatch import Dispatcher, Outcome, Prepared
from streampanel.store.accounts import ApiKey


def prepare(
    dispatcher: Dispatcher, key: ApiKey, name: str, params: dict[str, Any]
) -> Prepared | Outcome:
    started = time.perf_counter()
    outcome = Outcome(body={}, command=name, cdn=key.account_id)
    try:
        command = REGISTRY.get(name)
        if command is None:
            raise UnknownCommand(name)
        if command.writes:
            raise ScopeDenied(name)
        dispatcher.limiter.check(key.id)
        parsed = command.parse_params(params)
    except ApiError as error:
        outcome.body = envelope.failure(error, time.perf_counter() - started)
        outcome.http_status = error.http_status
        outcome.headers = error.headers
        return outcome
    return Prepared(command, parsed, key, "", outcome, started)


def run(dispatcher: Dispatcher, key: ApiKey, name: str, params: dict[str, Any]) -> Outcome:
    """Synchronously (tests, the thread pool)."""
    prepared = prepare(dispatcher, key, name, params)
    return prepared if isinstance(prepared, Outcome) else dispatcher.execute(prepared)


async def run_async(
    dispatcher: Dispatcher, key: ApiKey, name: str, params: dict[str, Any]
) -> Outcome:
    """On the event loop, as the API route runs commands: inline ones there, others in a
    thread."""
    prepared = prepare(dispatcher, key, name, params)
    if isinstance(prepared, Outcome):
        return prepared
    if prepared.command.inline:
        return dispatcher.execute_inline(prepared)
    return await run_in_threadpool(dispatcher.execute, prepared)

"""The intake routes edge agents call (``POST /agent/v1/...``, see ``streampanel.intake``).

Each request: the body read within ``intake_max_body_bytes`` as it streams in (413 beyond),
the token looked up (401 when it names no server), the JSON checked against its message
(400 naming the member), then the operation in a worker thread.  Answers are the API's
envelope with real HTTP statuses: 200, 400, 401, 403 (another server's data), 409 (another
agent holds the server, or an offset conflict, with the committed ``offset``), 413, and 503
while the store is unreachable — never a traceback.  Tokens are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streampanel.api import failure_outcome
from streampanel.asgi import ClientGone, bearer_token, read_body
from streampanel.errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    InternalError,
    StoreUnavailable,
)
from streampanel.intake import wire
from streampanel.intake.service import Intake, IntakeConflict, Server
from streampanel.protocol import envelope
from streampanel.protocol.request import decode_json
from streampanel.service import ServiceContext
from streampanel.store.outage import is_unavailable
from streampanel.store.viewers import server_for_token

log = logging.getLogger("streampanel.intake")

M = TypeVar("M", bound=BaseModel)
Operation = Callable[[Server, Any], dict[str, Any]]
# What the intake answers with the status it is (any other ApiError is a 500, a bug).
_STATUSES = {400, 401, 403, 409, 413, 503}


def _message(model: type[M], raw: bytes) -> M:
    # The one client-JSON decoder of every route (nesting, duplicates, surrogates bounded
    # there), then the message's model.
    value = decode_json(raw, "Message")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise BadRequest(f"Invalid '{where}': {error['msg']}") from None


def _answer(body: dict[str, Any], status: int) -> Response:
    return Response(envelope.render(body), status_code=status, media_type="application/json")


async def _handle(
    intake: Intake, model: type[BaseModel], operation: Operation, request: Request
) -> Response:
    started = time.perf_counter()
    try:
        raw = await read_body(
            request.receive, request.headers.get("content-length", ""), intake.max_body_bytes
        )
        token = bearer_token(request.headers)

        def run() -> dict[str, Any]:
            try:
                with intake.engine.connect() as conn:
                    found = server_for_token(conn, token)
                if found is None:
                    raise AuthenticationFailed("Unknown or missing ingest token")
                return operation(Server(*found), _message(model, raw))
            except (OperationalError, DBAPIError) as exc:
                # An outage is logged once, by the store's watch (streampanel.store.outage).
                if not is_unavailable(exc):
                    log.warning("store error for %s: %s", request.url.path, exc.__class__.__name__)
                raise StoreUnavailable() from None

        data = await run_in_threadpool(run)
    except ClientGone:
        return Response(status_code=400)  # nobody is listening
    except ApiError as error:
        if error.code not in _STATUSES:
            log.error("intake %s failed: %s", request.url.path, error.message)
            error = InternalError()
        body = failure_outcome(error, started).body
        if isinstance(error, IntakeConflict):
            body.update(error.details)
        return _answer(body, error.code)
    except Exception:
        log.exception("intake %s failed", request.url.path)
        return _answer(failure_outcome(InternalError(), started).body, 500)
    return _answer(envelope.success("OK", "data", data, time.perf_counter() - started), 200)


def routes(context: ServiceContext) -> list[Route]:
    intake = Intake(
        context.engine,
        max_body_bytes=context.settings.intake_max_body_bytes,
        application_cache_seconds=context.settings.application_cache_seconds,
    )
    table: list[tuple[str, type[BaseModel], Operation]] = [
        (wire.HELLO, wire.Hello, intake.hello),
        (wire.SOURCES, wire.SourceQuery, intake.source),
        (wire.BLOCKS, wire.Block, intake.block),
        (wire.DISK, wire.DiskReport, intake.disk),
        (wire.BYE, wire.Bye, intake.bye),
    ]
    return [
        Route(path, partial(_handle, intake, model, operation), methods=["POST"])
        for path, model, operation in table
    ]

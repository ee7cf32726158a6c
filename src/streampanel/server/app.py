"""The ASGI application: routes, body limits, one event per request in the log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from streampanel.errors import ApiError, MethodNotAllowed, PayloadTooLarge, TransportError
from streampanel.protocol import envelope
from streampanel.secretbox import SecretBox
from streampanel.server.body import extract_json_text
from streampanel.server.dispatch import Dispatcher, Outcome
from streampanel.server.metrics import Metrics
from streampanel.settings import Settings

log = logging.getLogger("streampanel.access")

# Room for a form's encoding around a JSON text of the maximum size (urlencoding can
# triple it); the JSON text itself is limited exactly afterwards.
_FORM_OVERHEAD_FACTOR = 3
_FORM_OVERHEAD_BYTES = 64 * 1024

# Background services (upload worker, collectors) started with the app: each is an async
# context manager factory receiving the app's state.
Service = Callable[["AppState"], AbstractAsyncContextManager[Any]]


class AppState:
    def __init__(self, settings: Settings, engine: Engine, box: SecretBox):
        self.settings = settings
        self.engine = engine
        self.box = box
        self.metrics = Metrics()
        self.dispatcher = Dispatcher(settings, engine, box)


def _json_response(outcome: Outcome) -> Response:
    return Response(
        envelope.render(outcome.body),
        status_code=outcome.http_status,
        headers=outcome.headers,
        media_type="application/json",
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _dispatch(dispatcher: Dispatcher, text: bytes) -> Outcome:
    prepared = dispatcher.prepare(text)
    if isinstance(prepared, Outcome):
        return prepared
    if prepared.command.inline:
        return dispatcher.execute_inline(prepared)
    return await run_in_threadpool(dispatcher.execute, prepared)


def _transport_failure(error: ApiError, started: float) -> Outcome:
    return Outcome(
        body=envelope.failure(error, time.perf_counter() - started),
        http_status=error.http_status,
        headers=error.headers,
    )


def create_app(
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    services: list[Service] | None = None,
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    state = AppState(settings, engine, box)
    body_limit = settings.max_body_bytes * _FORM_OVERHEAD_FACTOR + _FORM_OVERHEAD_BYTES

    async def stable(request: Request) -> Response:
        started = time.perf_counter()
        if request.method != "POST":
            outcome = _transport_failure(MethodNotAllowed(), started)
            outcome.headers = {"Allow": "POST"}
        else:
            try:
                body = await _read_body(request, body_limit)
                text = extract_json_text(
                    request.headers.get("content-type", ""), body, settings.max_body_bytes
                )
            except ApiError as error:
                outcome = _transport_failure(error, started)
            else:
                outcome = await _dispatch(state.dispatcher, text)
        elapsed = time.perf_counter() - started
        code = outcome.body.get("code", outcome.http_status)
        state.metrics.observe_request(outcome.command, code, elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(
                json.dumps(
                    {
                        "event": "request",
                        "path": request.url.path,
                        "command": outcome.command,
                        "cdn": outcome.cdn,
                        "code": code,
                        "ms": round(elapsed * 1000, 2),
                        "client": request.client.host if request.client else None,
                    }
                )
            )
        return _json_response(outcome)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            error = TransportError(404, "Not found: the API is at POST /stable/")
        elif status == 405:
            error = TransportError(405, "Method not allowed")
        else:
            log.error("unhandled error", exc_info=exc)
            error = TransportError(500, "Internal error")
        return _json_response(_transport_failure(error, time.perf_counter()))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(state.dispatcher.close)
            for service in services or []:
                await stack.enter_async_context(service(state))
            yield

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    app = Starlette(
        routes=[
            Route("/stable/", stable, methods=methods),
            Route("/stable", stable, methods=methods),
            Route("/dev/", stable, methods=methods),
            Route("/dev", stable, methods=methods),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *(extra_routes or []),
        ],
        exception_handlers={404: http_error, 405: http_error, 500: http_error},
        lifespan=lifespan,
    )
    app.state.streampanel = state
    return app

"""The ASGI application: the API endpoint in front, Starlette for everything else.

The HTTP layer only: it is handed the dispatcher, the background services and the routes
the features add (``streampanel.system`` builds them) and knows none of them by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from streampanel.api import Dispatcher, failure_outcome
from streampanel.asgi import Receive, Scope, Send
from streampanel.errors import ApiError, StoreUnavailable, TransportError
from streampanel.protocol import envelope
from streampanel.server.endpoint import API_PATHS, ApiEndpoint
from streampanel.service import Service, ServiceContext
from streampanel.store.outage import is_unavailable

log = logging.getLogger("streampanel.access")

# Threads for the blocking steps of the routes beside the API (push, intake, ticket
# decisions, panel, readiness, metrics).
ROUTE_THREADS = 8


class StreampanelApp:
    """The API paths go straight to the endpoint; everything else (health, metrics, web
    pages, lifespan) to Starlette."""

    def __init__(self, api: ApiEndpoint, rest: Starlette):
        self.api = api
        self.rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in API_PATHS:
            await self.api(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


def create_app(
    context: ServiceContext,
    dispatcher: Dispatcher,
    services: Sequence[Service] = (),
    routes: Sequence[BaseRoute] = (),
) -> StreampanelApp:
    """The app around ``dispatcher``: ``services`` run for the app's lifespan (each given
    ``context``), ``routes`` are served beside ``/healthz`` and ``/metrics`` (which moves to
    an address of its own when the settings give ``metrics_port``)."""
    settings = context.settings

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        # Rendering reads the store (the upload queue's depth): off the event loop.
        text = await run_in_threadpool(context.metrics.render)
        return Response(text, media_type="text/plain; version=0.0.4")

    def error_response(error: ApiError) -> Response:
        outcome = failure_outcome(error, time.perf_counter())
        return Response(
            envelope.render(outcome.body),
            status_code=error.code,
            headers=outcome.headers,
            media_type="application/json",
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            return error_response(TransportError(404, "Not found: the API is at POST /stable/"))
        if status == 405:
            return error_response(TransportError(405, "Method not allowed"))
        log.error("unhandled error", exc_info=exc)
        return error_response(TransportError(500, "Internal error"))

    async def store_error(request: Request, exc: Exception) -> Response:
        # A route that let a store failure through: an outage (logged once by the store's
        # watch) is a 503 on every route, whatever it serves; any other is a bug, a 500.
        if is_unavailable(exc):
            return error_response(StoreUnavailable())
        log.error("store error on %s", request.url.path, exc_info=exc)
        return error_response(TransportError(500, "Internal error"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The routes beside the API run their blocking steps in this pool (the API has its
        # own, ``api_threads``); the store's connection pool counts both
        # (``streampanel.system.store_pool_size``).
        anyio.to_thread.current_default_thread_limiter().total_tokens = ROUTE_THREADS
        async with AsyncExitStack() as stack:
            stack.callback(dispatcher.close)
            if settings.metrics_port:
                server = context.metrics.serve(settings.metrics_host, settings.metrics_port)
                stack.callback(server.server_close)
                stack.callback(server.shutdown)
            for service in services:
                await stack.enter_async_context(service(context))
            yield

    own_routes = [Route("/healthz", healthz, methods=["GET"])]
    if not settings.metrics_port:
        own_routes.append(Route("/metrics", metrics, methods=["GET"]))
    rest = Starlette(
        routes=[*own_routes, *routes],
        exception_handlers={
            404: http_error,
            405: http_error,
            500: http_error,
            SQLAlchemyError: store_error,
        },
        lifespan=lifespan,
    )
    endpoint = ApiEndpoint(dispatcher, context.metrics, context.settings.max_body_bytes)
    return StreampanelApp(endpoint, rest)

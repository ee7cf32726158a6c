"""The ASGI application: the API endpoint in front, Starlette for everything else.

The HTTP layer only: it is handed the dispatcher, the background services and the routes
the features add (``streampanel.system`` builds them) and knows none of them by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from streampanel.api import Dispatcher, failure_outcome
from streampanel.asgi import Receive, Scope, Send
from streampanel.errors import TransportError
from streampanel.protocol import envelope
from streampanel.server.endpoint import API_PATHS, ApiEndpoint
from streampanel.service import Service, ServiceContext

log = logging.getLogger("streampanel.access")


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
            await self.rest(scope, receive, send)  # type: ignore[arg-type]


def create_app(
    context: ServiceContext,
    dispatcher: Dispatcher,
    services: Sequence[Service] = (),
    routes: Sequence[BaseRoute] = (),
) -> StreampanelApp:
    """The app around ``dispatcher``: ``services`` run for the app's lifespan (each given
    ``context``), ``routes`` are served beside ``/healthz`` and ``/metrics``."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        return Response(context.metrics.render(), media_type="text/plain; version=0.0.4")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            error = TransportError(404, "Not found: the API is at POST /stable/")
        elif status == 405:
            error = TransportError(405, "Method not allowed")
        else:
            log.error("unhandled error", exc_info=exc)
            error = TransportError(500, "Internal error")
        outcome = failure_outcome(error, time.perf_counter())
        return Response(
            envelope.render(outcome.body),
            status_code=outcome.http_status,
            headers=outcome.headers,
            media_type="application/json",
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(dispatcher.close)
            for service in services:
                await stack.enter_async_context(service(context))
            yield

    rest = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *routes,
        ],
        exception_handlers={404: http_error, 405: http_error, 500: http_error},
        lifespan=lifespan,
    )
    endpoint = ApiEndpoint(dispatcher, context.metrics, context.settings.max_body_bytes)
    return StreampanelApp(endpoint, rest)

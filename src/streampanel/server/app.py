"""The ASGI application: the API endpoint, the web pages and services around it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from streampanel.errors import TransportError
from streampanel.metrics import Metrics
from streampanel.protocol import envelope
from streampanel.secretbox import SecretBox
from streampanel.server.dispatch import Dispatcher, Outcome
from streampanel.server.endpoint import (
    API_PATHS,
    ApiEndpoint,
    Receive,
    Scope,
    Send,
    failure_outcome,
)
from streampanel.service import Service, ServiceContext
from streampanel.settings import Settings

log = logging.getLogger("streampanel.access")


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


class StreampanelApp:
    """The API paths go straight to the endpoint; everything else (health, metrics, web
    pages, lifespan) to Starlette."""

    def __init__(self, api: ApiEndpoint, rest: Starlette):
        self.api = api
        self.rest = rest

    @property
    def state(self) -> State:
        return self.rest.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in API_PATHS:
            await self.api(scope, receive, send)
        else:
            await self.rest(scope, receive, send)  # type: ignore[arg-type]


def create_app(
    settings: Settings,
    engine: Engine,
    box: SecretBox,
    services: list[Service] | None = None,
    extra_routes: list[BaseRoute] | None = None,
) -> StreampanelApp:
    state = AppState(settings, engine, box)

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
        return _json_response(failure_outcome(error, time.perf_counter()))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(state.dispatcher.close)
            context = ServiceContext(settings, engine, box, state.metrics)
            for service in services or []:
                await stack.enter_async_context(service(context))
            yield

    rest = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *(extra_routes or []),
        ],
        exception_handlers={404: http_error, 405: http_error, 500: http_error},
        lifespan=lifespan,
    )
    rest.state.streampanel = state
    endpoint = ApiEndpoint(state.dispatcher, state.metrics, settings.max_body_bytes)
    return StreampanelApp(endpoint, rest)

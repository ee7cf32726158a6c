"""The composition root: the running system built from settings.

The one module that knows every part.  It opens the store (migrated) and the secret box,
builds the dispatcher and the metrics, lists the background services and the routes the
features add, and assembles the ASGI app around them.  ``streampanel serve``, the uvicorn
factory and the tests' in-process apps all build the system here, so it is wired once:

    uvicorn --factory streampanel.system:app_from_environment --workers 4

Nothing imports this module but its callers (the CLI, tests): the HTTP layer and the
features stay unaware of one another.
"""

from __future__ import annotations

from functools import partial

from starlette.routing import BaseRoute

from streampanel.api import Dispatcher
from streampanel.disk.service import disk_collector_service
from streampanel.ingest.service import access_log_service
from streampanel.intake import routes as intake_routes
from streampanel.metrics import Metrics
from streampanel.runtime import Runtime, open_runtime
from streampanel.server.app import ROUTE_THREADS, StreampanelApp, create_app
from streampanel.server.readiness import readiness_route
from streampanel.service import Service, ServiceContext
from streampanel.settings import Settings
from streampanel.store.readiness import unready_reason
from streampanel.tickets import routes as ticket_routes
from streampanel.tickets.service import ticket_purge_service
from streampanel.uploads.service import upload_worker_service
from streampanel.viewers import push as viewer_push
from streampanel.viewers.service import viewer_collectors_service, viewer_purge_service
from streampanel.web import routes as web_routes


def background_services(settings: Settings) -> list[Service]:
    """What runs beside the API in one process, unless ``background_services`` is off
    (scale-out: workers and collectors run elsewhere)."""
    if not settings.background_services:
        return []
    return [
        viewer_collectors_service,
        viewer_purge_service,
        ticket_purge_service,
        upload_worker_service,
        disk_collector_service,
        access_log_service,
    ]


def feature_routes(context: ServiceContext, dispatcher: Dispatcher) -> list[BaseRoute]:
    """The routes beside the API: readiness, the viewer push route, the agents' intake, the
    ticket decisions nginx asks for, the docs and the panel."""
    return [
        # First: nginx asks for a decision on every playlist a player loads.
        *ticket_routes.routes(context),
        readiness_route(partial(unready_reason, context.engine, context.box)),
        *viewer_push.routes(context),
        *intake_routes.routes(context),
        *web_routes.routes(context, dispatcher),
    ]


# Connections the embedded background services may hold at once (the upload worker's jobs
# and heartbeat, the collectors' and purges' threads, the access-log followers).
EMBEDDED_SERVICE_CONNECTIONS = 8


def store_pool_size(settings: Settings) -> int:
    """How many store connections an API process uses at once: one per thread of the API's
    thread pool (``api_threads``) and of the other routes' (``ROUTE_THREADS``), and those of
    the background services it runs."""
    embedded = EMBEDDED_SERVICE_CONNECTIONS if settings.background_services else 0
    return settings.api_threads + ROUTE_THREADS + embedded


def build_app(runtime: Runtime, settings: Settings | None = None) -> StreampanelApp:
    """The whole app on an open store; ``settings`` replace the runtime's (tests)."""
    settings = settings or runtime.settings
    context = ServiceContext(settings, runtime.engine, runtime.box, Metrics(runtime.engine))
    dispatcher = Dispatcher(settings, runtime.engine, runtime.box)
    return create_app(
        context, dispatcher, background_services(settings), feature_routes(context, dispatcher)
    )


def app_from_environment() -> StreampanelApp:
    """The uvicorn factory: settings from the environment, the store opened as every entry
    point opens it (``open_runtime``: at this code's schema, with the store's master key;
    an unreachable store is waited for)."""
    settings = Settings()
    runtime = open_runtime(settings, wait_for_store=True, pool_size=store_pool_size(settings))
    return build_app(runtime)

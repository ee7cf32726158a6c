"""What features add to the embedded server: background services and extra routes.

Each feature contributes here (upload worker, viewer collectors, disk collector, purge, the
viewer push route); ``streampanel serve`` starts the services in the app's lifespan.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from streampanel.disk.service import disk_collector_service
from streampanel.ingest.service import access_log_service
from streampanel.service import Service
from streampanel.settings import Settings
from streampanel.uploads.service import upload_worker_service
from streampanel.viewers import push as viewer_push
from streampanel.viewers import service as viewer_service
from streampanel.web import routes as web_routes


def embedded_services(settings: Settings) -> list[Service]:
    services: list[Service] = []
    if not settings.background_services:
        return services
    services += [viewer_service.viewer_collectors_service, viewer_service.viewer_purge_service]
    services.append(upload_worker_service)
    services.append(disk_collector_service)
    services.append(access_log_service)
    return services


def feature_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    routes += viewer_push.routes()
    routes += web_routes.routes()
    return routes

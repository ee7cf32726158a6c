"""App factory for running under uvicorn directly, e.g. with several worker processes:

uvicorn --factory streampanel.server.asgi:app_from_environment --workers 4
"""

from __future__ import annotations

from streampanel.runtime import open_runtime
from streampanel.server.app import StreampanelApp, create_app
from streampanel.server.services import embedded_services, feature_routes
from streampanel.settings import Settings


def app_from_environment() -> StreampanelApp:
    settings = Settings()
    runtime = open_runtime(settings)
    return create_app(
        settings, runtime.engine, runtime.box, embedded_services(settings), feature_routes()
    )

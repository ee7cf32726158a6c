"""Background services the embedded server runs beside the API.

Each feature contributes a factory here (upload worker, viewer collectors, disk collector,
purge); ``streampanel serve`` starts them all in the app's lifespan.
"""

from __future__ import annotations

from streampanel.server.app import Service
from streampanel.settings import Settings


def embedded_services(settings: Settings) -> list[Service]:
    services: list[Service] = []
    return services

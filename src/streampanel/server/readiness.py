"""``GET /readyz``: whether this process should be sent traffic, and if not, why.

``/healthz`` says the process is alive; ``/readyz`` asks the check it is given (the store's
round trip, schema and master key: ``streampanel.store.readiness``) and answers 200, or 503
with the reason.  The check blocks on the store, so it runs in a worker thread, never on
the event loop, and a store that does not answer within ``timeout`` is a reason too.  A change
of readiness is logged once, not every probe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("streampanel.readiness")

PATH = "/readyz"

Check = Callable[[], "str | None"]


def readiness_route(check: Check, timeout: float = 5.0) -> Route:
    last_reason: list[str | None] = [None]

    async def readyz(request: Request) -> Response:
        reason: str | None = f"the store did not answer within {timeout:g} s"
        with anyio.move_on_after(timeout):
            reason = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
        if reason != last_reason[0]:
            if reason is None:
                log.info("ready again")
            else:
                log.warning("not ready: %s", reason)
            last_reason[0] = reason
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unready", "reason": reason}, status_code=503)

    return Route(PATH, readyz, methods=["GET"])

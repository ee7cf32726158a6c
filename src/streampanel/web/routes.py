"""Every route of the web pages, added to the app by the composition root
(``streampanel.system``)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from streampanel.api import Dispatcher
from streampanel.service import ServiceContext
from streampanel.web import docs_pages, panel

# The docs have no script at all.
_DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def _api_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/stable/"


async def docs_page(request: Request) -> Response:
    page = request.path_params.get("page", "index")
    html = docs_pages.render_page(page, _api_url(request))
    if html is None:
        # The app's one 404 answer (the JSON envelope): clients of the API parse every answer
        # as JSON, so there are no HTML error pages.
        raise HTTPException(status_code=404)
    return HTMLResponse(html, headers=_DOCS_HEADERS)


_ASSET_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}


def _asset_route(name: str) -> Route:
    media_type = _ASSET_TYPES[name[name.rindex(".") :]]

    async def serve(request: Request) -> Response:
        return Response(docs_pages.asset(name), media_type=media_type, headers=_DOCS_HEADERS)

    return Route(f"/docs/{name}", serve, methods=["GET"])


def routes(context: ServiceContext, dispatcher: Dispatcher) -> list[BaseRoute]:
    return [
        Route("/docs", lambda request: RedirectResponse("/docs/", 307), methods=["GET"]),
        Route("/docs/", docs_page, methods=["GET"]),
        *(_asset_route(name) for name in docs_pages.ASSETS),
        Route("/docs/{page}.html", docs_page, methods=["GET"]),
        *panel.routes(context, dispatcher),
    ]

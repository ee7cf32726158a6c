"""``/panel``: sign-in, the dashboard page, and the JSON calls its script makes.

GET  /panel/            the dashboard (redirects to login without a session)
GET  /panel/login       the sign-in form;  POST /panel/login  checks it, sets the cookie
POST /panel/logout      ends the session
POST /panel/api/call    {"command": ..., "params": {...}} -> the command's API envelope
POST /panel/api/youtube-jobs   ids of the account's newest YouTube upload requests
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from streampanel.errors import ApiError, AuthenticationFailed, BadRequest
from streampanel.protocol import envelope
from streampanel.server.app import AppState
from streampanel.store import uploads as upload_store
from streampanel.store.accounts import ApiKey
from streampanel.web import calls, session
from streampanel.web.pages import login_page, panel_page

STATIC = Path(__file__).parent / "static"
# Only the package's own files: no inline script, no third-party origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
YOUTUBE_JOBS_SHOWN = 25


def _state(request: Request) -> AppState:
    return request.app.state.streampanel  # type: ignore[no-any-return]


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def _secure(request: Request) -> bool:
    # Behind a TLS proxy uvicorn's proxy headers make the scheme https.
    return request.url.scheme == "https"


async def _key(request: Request) -> ApiKey | None:
    token = request.cookies.get(session.COOKIE, "")
    if not token:
        return None
    state = _state(request)
    # The API caches key lookups for key_cache_seconds; sessions get the same: a revoked key
    # stops working within that time on both paths, and a dashboard's burst of calls costs
    # one lookup.
    cache: dict[str, tuple[float, ApiKey]] | None = getattr(request.app.state, "panel_keys", None)
    if cache is None:
        cache = request.app.state.panel_keys = {}
    now = time.time()
    cached = cache.get(token)
    if cached is not None and cached[0] > now:
        return cached[1]
    opened = session.read(state.box, token, now)
    if opened is None:
        return None

    def lookup() -> ApiKey | None:
        with state.engine.connect() as conn:
            return session.session_key(conn, state.box, token, now)

    key = await run_in_threadpool(lookup)
    if key is not None and state.settings.key_cache_seconds > 0:
        if len(cache) > 10_000:
            cache.clear()
        cache[token] = (min(now + state.settings.key_cache_seconds, opened.expires), key)
    return key


async def dashboard(request: Request) -> Response:
    key = await _key(request)
    if key is None:
        return RedirectResponse("login", status_code=303)
    label = key.label or f"{key.api_key[:6]}…"
    return _html(panel_page(key.account_id, label))


def _login_form(request: Request, error: str = "", status: int = 200, **values: str) -> Response:
    token = session.new_login_token()
    response = _html(login_page(token, error, **values), status)
    response.set_cookie(
        session.LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/panel/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def login_form(request: Request) -> Response:
    return _login_form(request)


async def login(request: Request) -> Response:
    form = await request.form()
    cdn_text = str(form.get("cdn", "")).strip()
    api_key = str(form.get("api_key", "")).strip()
    secret = str(form.get("secret", "")).strip()
    expected_token = request.cookies.get(session.LOGIN_COOKIE, "")
    if not expected_token or str(form.get("login_token", "")) != expected_token:
        return _login_form(request, "The form expired: please sign in again.", 400)
    state = _state(request)

    def check() -> ApiKey | None:
        if not cdn_text.isdigit() or not api_key or not secret:
            return None
        with state.engine.connect() as conn:
            return session.check_credentials(conn, state.box, int(cdn_text), api_key, secret)

    key = await run_in_threadpool(check)
    if key is None:
        # One answer for every reason, as the API's 401: keys cannot be probed.
        return _login_form(request, "Sign-in failed.", 401, cdn=cdn_text, api_key=api_key)
    lifetime = state.settings.panel_session_seconds
    response = RedirectResponse("./", status_code=303)
    response.set_cookie(
        session.COOKIE,
        session.issue(state.box, key, time.time(), lifetime),
        max_age=lifetime,
        path="/panel/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(session.LOGIN_COOKIE, path="/panel/")
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/panel/")
    return response


def _envelope(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        envelope.render(body),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
        media_type="application/json",
    )


def _failure(error: ApiError, status: int) -> Response:
    return _envelope(envelope.failure(error, 0.0), status)


async def _json_body(request: Request) -> dict[str, Any]:
    # A JSON content type cannot be sent cross-site without a CORS preflight.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest("The panel API takes application/json")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise BadRequest("The body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    return body


async def api_call(request: Request) -> Response:
    key = await _key(request)
    if key is None:
        return _failure(AuthenticationFailed("Not signed in"), 401)
    try:
        body = await _json_body(request)
        name, params = body.get("command"), body.get("params", {})
        if not isinstance(name, str) or not isinstance(params, dict):
            raise BadRequest('Expected {"command": "...", "params": {...}}')
    except ApiError as error:
        return _failure(error, 400)
    outcome = await calls.run_async(_state(request).dispatcher, key, name, params)
    return _envelope(outcome.body, outcome.http_status, outcome.headers)


async def youtube_jobs(request: Request) -> Response:
    """Which YouTube requests to show: the API has no list form of ``youtube.status``, so
    the ids come from the upload store; each record is then fetched through
    ``youtube.status`` like any other call, so what is shown is the API's answer."""
    key = await _key(request)
    if key is None:
        return _failure(AuthenticationFailed("Not signed in"), 401)
    state = _state(request)

    def ids() -> list[int]:
        with state.engine.connect() as conn:
            jobs = upload_store.list_jobs(conn, key.account_id, "youtube", YOUTUBE_JOBS_SHOWN, 0)
        return [job.id for job in jobs]

    found = await run_in_threadpool(ids)
    return _envelope({"status": "success", "code": 200, "message": "YouTube jobs", "data": found})


def routes() -> list[BaseRoute]:
    return [
        Route("/panel", lambda request: RedirectResponse("/panel/", 307), methods=["GET"]),
        Route("/panel/", dashboard, methods=["GET"]),
        Route("/panel/login", login_form, methods=["GET"]),
        Route("/panel/login", login, methods=["POST"]),
        Route("/panel/logout", logout, methods=["POST"]),
        Route("/panel/api/call", api_call, methods=["POST"]),
        Route("/panel/api/youtube-jobs", youtube_jobs, methods=["POST"]),
        Mount("/panel/assets", StaticFiles(directory=STATIC), name="panel-assets"),
    ]

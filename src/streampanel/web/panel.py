"""``/panel``: sign-in, the dashboard page, and the JSON calls its script makes.

GET  /panel/            the dashboard (redirects to login without a session)
GET  /panel/login       the sign-in form;  POST /panel/login  checks it, sets the cookie
POST /panel/logout      ends the session
POST /panel/api/call    {"command": ..., "params": {...}} -> the command's API envelope
POST /panel/api/youtube-jobs   ids of the account's newest YouTube upload requests
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from streampanel.api import Dispatcher, failure_outcome
from streampanel.asgi import ClientGone, read_body
from streampanel.errors import ApiError, AuthenticationFailed, BadRequest
from streampanel.protocol import envelope
from streampanel.protocol.request import INT_BOUND, as_integer, decode_json
from streampanel.service import ServiceContext
from streampanel.store import uploads as upload_store
from streampanel.store.accounts import ApiKey
from streampanel.web import session
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
# The sign-in form is four short fields.
_LOGIN_FORM_BYTES = 16 * 1024


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def _secure(request: Request) -> bool:
    # Behind a TLS proxy uvicorn's proxy headers make the scheme https.
    return request.url.scheme == "https"


async def _key(context: ServiceContext, dispatcher: Dispatcher, request: Request) -> ApiKey | None:
    """The signed-in key: the session cookie opened, and the key it names looked up through
    the API's own key cache, so a revoked key stops working within ``key_cache_seconds`` on
    both paths and a dashboard's burst of calls costs one lookup."""
    opened = session.read(context.box, request.cookies.get(session.COOKIE, ""), time.time())
    if opened is None:
        return None
    key = await run_in_threadpool(dispatcher.active_key, opened.api_key)
    return session.session_key(opened, key)


async def dashboard(context: ServiceContext, dispatcher: Dispatcher, request: Request) -> Response:
    key = await _key(context, dispatcher, request)
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


async def _login_fields(request: Request) -> dict[str, str]:
    """The sign-in form's fields, read through the one bounded body reader (a browser posts
    it urlencoded)."""
    raw = await read_body(
        request.receive, request.headers.get("content-length", ""), _LOGIN_FORM_BYTES
    )
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, max_num_fields=16)
    except ValueError:
        raise BadRequest("Too many form fields") from None
    return dict(pairs)


async def login(context: ServiceContext, request: Request) -> Response:
    try:
        form = await _login_fields(request)
    except ClientGone:
        return Response(status_code=400)  # nobody is listening
    except ApiError as error:
        return _login_form(request, "The form could not be read.", max(error.http_status, 400))
    cdn_text = form.get("cdn", "").strip()
    api_key = form.get("api_key", "").strip()
    secret = form.get("secret", "").strip()
    expected_token = request.cookies.get(session.LOGIN_COOKIE, "")
    if not expected_token or form.get("login_token", "") != expected_token:
        return _login_form(request, "The form expired: please sign in again.", 400)
    # ASCII digits within int64 only: '²' or a 5000-digit cdn is one more failed sign-in.
    cdn = as_integer(cdn_text)

    def check() -> ApiKey | None:
        if cdn is None or not 0 <= cdn < INT_BOUND or not api_key or not secret:
            return None
        with context.engine.connect() as conn:
            return session.check_credentials(conn, context.box, cdn, api_key, secret)

    key = await run_in_threadpool(check)
    if key is None:
        # One answer for every reason, as the API's 401: keys cannot be probed.
        return _login_form(request, "Sign-in failed.", 401, cdn=cdn_text, api_key=api_key)
    lifetime = context.settings.panel_session_seconds
    response = RedirectResponse("./", status_code=303)
    response.set_cookie(
        session.COOKIE,
        session.issue(context.box, key, time.time(), lifetime),
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


def _failure(error: ApiError, started: float, status: int) -> Response:
    return _envelope(failure_outcome(error, started).body, status)


async def _json_body(context: ServiceContext, request: Request) -> dict[str, Any]:
    # A JSON content type cannot be sent cross-site without a CORS preflight.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest("The panel API takes application/json")
    raw = await read_body(
        request.receive, request.headers.get("content-length", ""), context.settings.max_body_bytes
    )
    # The API's own decoder: the same UTF-8, nesting, duplicate and surrogate rules.
    body = decode_json(raw, "Body")
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object")
    return body


async def api_call(context: ServiceContext, dispatcher: Dispatcher, request: Request) -> Response:
    """A registry command for the signed-in key through the API's own request path (rate
    limit, parameters, handler, envelope): the panel gets exactly what ``POST /stable/``
    answers that key.  Only the signature check is skipped, the session having proved the
    secret; and the panel only reads, so commands that create are refused as for a
    read-only key."""
    started = time.perf_counter()
    key = await _key(context, dispatcher, request)
    if key is None:
        return _failure(AuthenticationFailed("Not signed in"), started, 401)
    try:
        body = await _json_body(context, request)
        name, params = body.get("command"), body.get("params", {})
        if not isinstance(name, str) or not isinstance(params, dict):
            raise BadRequest('Expected {"command": "...", "params": {...}}')
    except ClientGone:
        return Response(status_code=400)  # nobody is listening
    except ApiError as error:
        # 413 for a body over the limit; every other problem with the body is a 400.
        return _failure(error, started, max(error.http_status, 400))
    outcome = await dispatcher.answer_admitted(key, name, params, read_only=True, started=started)
    return _envelope(outcome.body, outcome.http_status, outcome.headers)


async def youtube_jobs(
    context: ServiceContext, dispatcher: Dispatcher, request: Request
) -> Response:
    """Which YouTube requests to show: the API has no list form of ``youtube.status``, so
    the ids come from the upload store; each record is then fetched through
    ``youtube.status`` like any other call, so what is shown is the API's answer."""
    started = time.perf_counter()
    key = await _key(context, dispatcher, request)
    if key is None:
        return _failure(AuthenticationFailed("Not signed in"), started, 401)

    def ids() -> list[int]:
        with context.engine.connect() as conn:
            jobs = upload_store.list_jobs(conn, key.account_id, "youtube", YOUTUBE_JOBS_SHOWN, 0)
        return [job.id for job in jobs]

    found = await run_in_threadpool(ids)
    return _envelope(envelope.success("YouTube jobs", "data", found, time.perf_counter() - started))


def routes(context: ServiceContext, dispatcher: Dispatcher) -> list[BaseRoute]:
    signed_in = (context, dispatcher)
    return [
        Route("/panel", lambda request: RedirectResponse("/panel/", 307), methods=["GET"]),
        Route("/panel/", partial(dashboard, *signed_in), methods=["GET"]),
        Route("/panel/login", login_form, methods=["GET"]),
        Route("/panel/login", partial(login, context), methods=["POST"]),
        Route("/panel/logout", logout, methods=["POST"]),
        Route("/panel/api/call", partial(api_call, *signed_in), methods=["POST"]),
        Route("/panel/api/youtube-jobs", partial(youtube_jobs, *signed_in), methods=["POST"]),
        Mount("/panel/assets", StaticFiles(directory=STATIC), name="panel-assets"),
    ]

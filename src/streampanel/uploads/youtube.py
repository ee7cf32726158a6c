"""YouTube transfers with google-api-python-client: a resumable upload, resumed by session URI.

The session URI is stored the moment the API hands it out, before any byte is sent.  A
resumed job gives the stored URI back to the client library in its "error state", which
makes its next step the protocol's status query (``PUT`` with ``Content-Range: bytes */N``):
the session answers which bytes it holds and the upload continues after them.  The OAuth
access token is obtained (and refreshed) from the account's refresh token by google-auth.

The library reads the video from a ``FileSlice`` over the job's open stored file (by
position, through the one descriptor the worker opened), never from the path.
"""

from __future__ import annotations

import json
import mimetypes
import socket
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as AuthTransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError, ResumableUploadError
from googleapiclient.http import MediaIoBaseUpload, build_http

from streampanel.settings import Settings
from streampanel.storage import StoredFile
from streampanel.store.uploads import Destination, Job
from streampanel.uploads.errors import (
    PermanentFailure,
    TransientFailure,
    UploadFailure,
    is_transient_status,
)
from streampanel.uploads.lease import Lease
from streampanel.uploads.transfer import FileSlice, Transferred

UPLOAD_SCOPE = "https://www.googleapis.com/auth/youtube.upload"
RESULT_FIELDS = ("etag", "id", "kind")
# Smallest chunk the protocol accepts (chunks are multiples of 256 KiB).
CHUNK_QUANTUM = 256 * 1024


class _SessionRecorder:
    """Wraps the authorised HTTP object to store the session URI as soon as it exists."""

    def __init__(self, http: AuthorizedHttp, lease: Lease):
        self._http = http
        self._lease = lease

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        response, content = self._http.request(uri, method, *args, **kwargs)
        if method == "POST" and response.status == 200 and "location" in response:
            self._lease.checkpoint(remote_session=response["location"])
        return response, content

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


def _remote_message(content: bytes | str | None) -> str:
    if not content:
        return ""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:500]
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or error)
    if isinstance(error, str):
        return error
    return text[:500]


def classify(exc: Exception) -> UploadFailure:
    if isinstance(exc, HttpError | ResumableUploadError):
        status = int(exc.resp.status)
        message = f"YouTube API error {status}: {_remote_message(exc.content) or exc.reason}"
        if is_transient_status(status):
            return TransientFailure(message, status)
        return PermanentFailure(message, status)
    if isinstance(exc, RefreshError):
        if getattr(exc, "retryable", False):
            return TransientFailure(f"OAuth token refresh failed: {exc}", 503)
        return PermanentFailure(f"OAuth token refresh failed: {exc}", 401)
    if isinstance(exc, AuthTransportError | httplib2.HttpLib2Error | OSError | socket.timeout):
        return TransientFailure(f"{type(exc).__name__}: {exc}", 503)
    return TransientFailure(f"{type(exc).__name__}: {exc}", 500)


def _service(destination: Destination, settings: Settings, lease: Lease) -> tuple[Any, Any]:
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=destination.secrets.get("refresh_token"),
        client_id=destination.settings.get("client_id"),
        client_secret=destination.secrets.get("client_secret"),
        token_uri=settings.youtube_token_uri,
        scopes=[UPLOAD_SCOPE],
    )
    # build_http() keeps 308 out of httplib2's redirects: 308 is the protocol's "resume".
    http = _SessionRecorder(AuthorizedHttp(credentials, http=build_http()), lease)
    # The discovery document bundled with the library, re-rooted: the library keeps the
    # document's scheme for media URLs even when api_endpoint is overridden, so the root
    # (e.g. a local stand-in over plain http) is set in the document itself.
    document = json.loads(discovery_cache.get_static_doc("youtube", "v3") or "{}")
    root = settings.youtube_api_root.rstrip("/") + "/"
    document["rootUrl"] = root
    document["mtlsRootUrl"] = root
    document["baseUrl"] = root + document.get("servicePath", "")
    return build_from_document(document, http=http), http


def _chunk_size(settings: Settings) -> int:
    return max(CHUNK_QUANTUM, settings.youtube_chunk_bytes // CHUNK_QUANTUM * CHUNK_QUANTUM)


def upload(
    job: Job, destination: Destination, source: StoredFile, lease: Lease, settings: Settings
) -> Transferred:
    """Upload the job's open stored file."""
    try:
        return _upload(job, destination, source, lease, settings)
    except UploadFailure:
        raise
    except (HttpError, RefreshError, AuthTransportError, httplib2.HttpLib2Error, OSError) as exc:
        failure = classify(exc)
        if isinstance(exc, HttpError) and exc.resp.status in (404, 410) and job.remote_session:
            # The session expired or was cancelled: start a fresh one on the retry.
            lease.checkpoint(remote_session=None)
            raise TransientFailure(f"Upload session expired: {failure.message}", 503) from exc
        raise failure from exc


def _upload(
    job: Job, destination: Destination, source: StoredFile, lease: Lease, settings: Settings
) -> Transferred:
    service, http = _service(destination, settings, lease)
    try:
        return _insert(service, job, source, lease, settings)
    finally:
        http.close()


def _insert(
    service: Any, job: Job, source: StoredFile, lease: Lease, settings: Settings
) -> Transferred:
    mimetype = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
    media = MediaIoBaseUpload(
        FileSlice(source.fd, 0, source.size),
        mimetype=mimetype,
        chunksize=_chunk_size(settings),
        resumable=True,
    )
    tags = [t.strip() for t in job.tags.split(",") if t.strip()]
    body = {
        "snippet": {"title": job.title, "description": job.description, "tags": tags},
        "status": {"privacyStatus": job.visibility or "private"},
    }
    request = service.videos().insert(part="snippet,status", body=body, media_body=media)
    if job.remote_session:
        # Resume: the library's error state makes its next step the session status query.
        request.resumable_uri = job.remote_session
        request._in_error_state = True
    response = None
    while response is None:
        lease.check()
        status, response = request.next_chunk(num_retries=0)
        lease.set_bytes(status.resumable_progress if status else media.size())
    results = {name: response[name] for name in RESULT_FIELDS if name in response}
    return Transferred(results, "Successfully Uploaded to Youtube", str(response.get("id", "")))

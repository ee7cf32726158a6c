"""Upload commands: aws.upload / aws.status and youtube.upload / youtube.status.

Uploading commands only queue a job (the worker does the transfer) and are idempotent on
the request signature: the same signed request received again, within the timestamp
window, answers the first response and queues nothing.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field
from sqlalchemy.exc import IntegrityError

from streampanel.commands.context import CallContext
from streampanel.commands.params import NonNegativeInt, Params, expected, parse_int
from streampanel.commands.registry import command
from streampanel.errors import BadRequest, Conflict, InvalidParameter, UnknownObject
from streampanel.protocol.request import decode_json
from streampanel.storage import PATH_EXPECTED, open_stored_file
from streampanel.store import accounts
from streampanel.store import uploads as store
from streampanel.uploads.records import status_record

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_META_KEY = re.compile(r"^[A-Za-z0-9\-_.]{1,128}$")
# S3 limits user metadata to 2 KB in total.
_META_LIMIT = 2048


def _callback(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > 2000:
        raise ValueError("not a URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value is None or value == "" or value == []:  # PHP encodes an empty array as []
        return {}
    if isinstance(value, str):
        # JSON text in a string (form-built clients): decoded with the request's own bounds.
        try:
            value = decode_json(value.encode("utf-8", "surrogatepass"), "metadata")
        except BadRequest as error:
            raise ValueError(error.message) from None
    if not isinstance(value, dict):
        raise ValueError("not an object")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not _META_KEY.match(key) or isinstance(item, dict | list) or item is None:
            raise ValueError("bad metadata entry")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        if not text.isascii():
            raise ValueError("metadata values must be ASCII")
        result[key] = text
    if sum(len(k) + len(v) for k, v in result.items()) > _META_LIMIT:
        raise ValueError("too large")
    return result


# Request ids are the store's 32-bit integer keys: a larger number names no request, and
# PostgreSQL would refuse to compare it with the column.
MAX_JOB_ID = 2**31 - 1
JOB_ID_EXPECTED = f"an upload request id (an integer from 1 to {MAX_JOB_ID})"


def _id(value: Any) -> int:
    number = parse_int(value)
    if not 1 <= number <= MAX_JOB_ID:
        raise ValueError("not an id")
    return number


def _limit(value: Any) -> int:
    number = parse_int(value)
    if not 1 <= number <= 100:
        raise ValueError("out of range")
    return number


def _text(limit: int) -> Any:
    def check(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str) or len(value) > limit:
            raise ValueError("too long")
        return value

    return BeforeValidator(check)


CallbackUrl = Annotated[str, BeforeValidator(_callback)]
Metadata = Annotated[dict[str, str], BeforeValidator(_metadata)]
JobId = Annotated[int, BeforeValidator(_id)]
Limit = Annotated[int, BeforeValidator(_limit)]
CALLBACK_EXPECTED = "an http:// or https:// URL"
KEY_EXPECTED = "an object key such as folder/file.mp4 (no leading '/', at most 1024 characters)"


class AwsUploadParams(Params):
    path: str = expected(PATH_EXPECTED)
    destination_path: str | None = expected(KEY_EXPECTED, default=None)
    bucket: str | None = expected("an S3 bucket name", default=None)
    metadata: Metadata = expected(
        "an object of ASCII strings (names of letters, digits, '-', '_', '.'; 2 KB in all)",
        default_factory=dict,
    )
    acl: Literal["private", "public-read"] = expected(
        "'private' or 'public-read'", default="private"
    )
    callback: CallbackUrl = expected(CALLBACK_EXPECTED, default="")


class AwsStatusParams(Params):
    id: JobId | None = expected(JOB_ID_EXPECTED, default=None)
    limit: Limit = expected("an integer from 1 to 100", default=25)
    offset: NonNegativeInt = expected("a non-negative integer", default=0)


class YoutubeUploadParams(Params):
    path: str = expected(PATH_EXPECTED)
    title: Annotated[str, _text(100), Field(min_length=1)] = expected(
        "a title of 1 to 100 characters"
    )
    description: Annotated[str, _text(5000)] = expected("at most 5000 characters", default="")
    tags: Annotated[str, _text(500)] = expected(
        "comma-separated tags, at most 500 characters", default=""
    )
    visibility: Literal["private", "public", "unlisted"] = expected(
        "'private', 'public' or 'unlisted'", default="private"
    )
    callback: CallbackUrl = expected(CALLBACK_EXPECTED, default="")


class YoutubeStatusParams(Params):
    id: JobId = expected(JOB_ID_EXPECTED)


def _replayed(ctx: CallContext) -> Any | None:
    if not ctx.signature:
        return None
    job = store.find_by_signature(ctx.conn, ctx.account_id, ctx.signature)
    if job is None or job.first_response is None:
        return None
    return json.loads(job.first_response)


def _queue(ctx: CallContext, values: dict[str, Any]) -> Any:
    """Insert the job and remember its first response; a concurrent twin wins instead."""
    values = {
        **values,
        "account_id": ctx.account_id,
        "api_key_id": ctx.key.id,
        "signature": ctx.signature or None,
        "created": ctx.now,
        "last_updated": ctx.now,
        "due_at": ctx.now,
    }
    try:
        with ctx.conn.begin_nested():
            job_id = store.create_job(ctx.conn, values)
    except IntegrityError:
        # The same signed request arrived twice at once (PostgreSQL): answer the first.
        replay = _replayed(ctx)
        if replay is None:
            raise
        return replay
    job = store.get_job(ctx.conn, job_id)
    assert job is not None
    payload = status_record(job)
    store.set_first_response(ctx.conn, job_id, payload)
    return payload


def _storage_users(ctx: CallContext) -> list[str]:
    return [u["name"] for u in accounts.list_storage_users(ctx.conn, ctx.account_id)]


@command(
    "aws.upload",
    params=AwsUploadParams,
    message="AWS Upload Queued",
    summary="Queues a stored file for upload to the account's S3 bucket.",
    writes=True,
)
def aws_upload(ctx: CallContext, params: AwsUploadParams) -> Any:
    replay = _replayed(ctx)
    if replay is not None:
        return replay
    destination = store.get_destination(ctx.conn, ctx.box, ctx.account_id, "aws")
    if destination is None:
        raise Conflict("No S3 destination is configured for this account")
    bucket = params.bucket or destination.settings.get("bucket", "")
    if not _BUCKET.match(bucket):
        raise InvalidParameter("bucket", "an S3 bucket name")
    # bytes_total is the size of the file opened, not of whatever the path names later.
    with open_stored_file(ctx.settings.storage_roots, _storage_users(ctx), params.path) as stored:
        path, relative, size = stored.path, stored.relative, stored.size
    key = relative if params.destination_path is None else params.destination_path
    if not key or key.startswith("/") or len(key) > 1024:
        raise InvalidParameter("destination_path", KEY_EXPECTED)
    return _queue(
        ctx,
        {
            "kind": "aws",
            "path": path,
            "destination_path": key,
            "bucket": bucket,
            "metadata": json.dumps(params.metadata),
            "acl": params.acl,
            "callback": params.callback,
            "bytes_total": size,
        },
    )


@command(
    "aws.status",
    params=AwsStatusParams,
    message="Found AWS Status",
    summary="One S3 upload request by id, or the newest requests (limit/offset).",
)
def aws_status(ctx: CallContext, params: AwsStatusParams) -> Any:
    if params.id is not None:
        job = store.get_job(ctx.conn, params.id, account_id=ctx.account_id, kind="aws")
        if job is None:
            raise UnknownObject("AWS upload request", params.id)
        return status_record(job)
    jobs = store.list_jobs(ctx.conn, ctx.account_id, "aws", params.limit, params.offset)
    return [status_record(job) for job in jobs]


@command(
    "youtube.upload",
    params=YoutubeUploadParams,
    message="Youtube Upload Queued",
    summary="Queues a stored file for upload to the account's YouTube channel.",
    writes=True,
)
def youtube_upload(ctx: CallContext, params: YoutubeUploadParams) -> Any:
    replay = _replayed(ctx)
    if replay is not None:
        return replay
    if store.get_destination(ctx.conn, ctx.box, ctx.account_id, "youtube") is None:
        raise Conflict("No YouTube account is configured for this account")
    with open_stored_file(ctx.settings.storage_roots, _storage_users(ctx), params.path) as stored:
        path, size = stored.path, stored.size
    return _queue(
        ctx,
        {
            "kind": "youtube",
            "path": path,
            "title": params.title,
            "description": params.description,
            "tags": params.tags,
            "visibility": params.visibility,
            "callback": params.callback,
            "bytes_total": size,
        },
    )


@command(
    "youtube.status",
    params=YoutubeStatusParams,
    message="Found Youtube Status",
    summary="One YouTube upload request by id.",
)
def youtube_status(ctx: CallContext, params: YoutubeStatusParams) -> Any:
    job = store.get_job(ctx.conn, params.id, account_id=ctx.account_id, kind="youtube")
    if job is None:
        raise UnknownObject("Youtube upload request", params.id)
    return status_record(job)

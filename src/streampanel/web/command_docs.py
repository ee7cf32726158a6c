"""What the documentation needs that a command's registration does not carry: a longer
description, the result fields, and an example request and payload.

Keyed by command name; ``tests/web/test_command_docs.py`` fails when a registered command has
no entry here (or an entry names no command), when an example request does not pass the
command's own parameter model, and when the documented result fields differ from what the
handler really answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streampanel.commands.viewers import DEFAULT_RETENTION_DAYS


@dataclass(frozen=True)
class ResultField:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class CommandDoc:
    description: str
    # "array" of records, "object" (one record), or "array or object" (depends on the request)
    shape: str
    result_fields: tuple[ResultField, ...]
    example_params: dict[str, Any] = field(default_factory=dict)
    example_payload: Any = None


def _fields(*rows: tuple[str, str, str]) -> tuple[ResultField, ...]:
    return tuple(ResultField(*row) for row in rows)


_UPLOAD_COMMON = (
    ("message", "string", "What happened last, e.g. the remote error of a failed upload"),
    ("results", "object", "What the destination answered on completion (empty until done)"),
    ("created", "string", "When the request was received, YYYY-MM-DD HH:MM:SS UTC"),
    ("last_updated", "string", "When the record last changed, YYYY-MM-DD HH:MM:SS UTC"),
    ("status", "int", "HTTP-style: 202 queued or uploading, 200 done, the error's code failed"),
    ("state", "string", "queued, uploading, done or failed"),
    ("bytes_done", "int", "Bytes transferred so far"),
    ("bytes_total", "int", "Size of the stored file in bytes"),
    ("attempts", "int", "Transfer attempts so far (transient errors are retried)"),
    (
        "callback_delivery",
        "object",
        "Delivery of the callback: state, attempts, http_status, message, event_id",
    ),
)

_AWS_RECORD = _fields(
    ("id", "int", "The upload request id"),
    ("cdn_id", "int", "Your CDN id"),
    ("path", "string", "The stored file, sestoreN/<storage user>/..."),
    ("destination_path", "string", "The object key in the bucket"),
    ("bucket", "string", "The S3 bucket"),
    ("metadata", "string", "The object metadata, as JSON text"),
    ("acl", "string", "private or public-read"),
    ("callback", "string", "The URL notified when the upload ends (empty: none)"),
    *_UPLOAD_COMMON,
)

_YOUTUBE_RECORD = _fields(
    ("id", "int", "The upload request id"),
    ("cdn_id", "int", "Your CDN id"),
    ("path", "string", "The stored file, sestoreN/<storage user>/..."),
    ("title", "string", "The video title"),
    ("description", "string", "The video description"),
    ("tags", "string", "Comma-separated tags"),
    ("visibility", "string", "private, public or unlisted"),
    ("callback", "string", "The URL notified when the upload ends (empty: none)"),
    ("youtube_id", "string", "The YouTube video id once uploaded (empty before)"),
    *_UPLOAD_COMMON,
)

_DELIVERY = {"state": "none", "attempts": 0, "http_status": None, "message": "", "event_id": ""}

_AWS_EXAMPLE = {
    "id": 1,
    "cdn_id": 158,
    "path": "sestore1/jb/path/to/file.mp4",
    "destination_path": "path/to/file.mp4",
    "bucket": "my-bucket",
    "metadata": "{}",
    "acl": "private",
    "callback": "",
    "message": "Successfully Uploaded to AWS",
    "results": {"Bucket": "my-bucket", "Key": "path/to/file.mp4", "ETag": '"9b2cf535f27731c9"'},
    "created": "2024-03-19 10:00:00",
    "last_updated": "2024-03-19 10:00:42",
    "status": 200,
    "state": "done",
    "bytes_done": 73400320,
    "bytes_total": 73400320,
    "attempts": 1,
    "callback_delivery": _DELIVERY,
}

_YOUTUBE_EXAMPLE = {
    "id": 2,
    "cdn_id": 158,
    "path": "sestore1/jb/path/to/file.mp4",
    "title": "My video",
    "description": "Uploaded from the CDN",
    "tags": "demo,cdn",
    "visibility": "unlisted",
    "callback": "",
    "youtube_id": "",
    "message": "Uploading",
    "results": {},
    "created": "2024-03-19 10:00:00",
    "last_updated": "2024-03-19 10:00:30",
    "status": 202,
    "state": "uploading",
    "bytes_done": 16777216,
    "bytes_total": 73400320,
    "attempts": 1,
    "callback_delivery": _DELIVERY,
}

COMMAND_DOCS: dict[str, CommandDoc] = {
    "video.getapps": CommandDoc(
        description=(
            "Lists your applications with their ids and names. The other commands take an "
            "application by id or by name."
        ),
        shape="array",
        result_fields=_fields(
            ("id", "int", "The application id"),
            ("name", "string", "The application name"),
        ),
        example_params={},
        example_payload=[{"id": 1, "name": "demo-origin"}, {"id": 2, "name": "demo-live"}],
    ),
    "video.servers": CommandDoc(
        description=(
            "Retrieves 30 days worth of video usage per server and day: bytes sent and "
            "requests served, summed over the selected applications. Every server that served "
            "them in the period has a row for every day (days without traffic are zero rows), "
            "sorted by date then server. Without starttime the period is the 30 days ending "
            "today (UTC)."
        ),
        shape="array",
        result_fields=_fields(
            ("date", "string", "The day, YYYY-MM-DD (UTC)"),
            ("server", "string", "The server name"),
            ("bytes_total", "int", "Bytes sent that day"),
            ("requests_total", "int", "Requests served that day"),
        ),
        example_params={"app": "demo-origin", "starttime": "2024-03-19"},
        example_payload=[
            {
                "date": "2024-03-19",
                "server": "FRA",
                "bytes_total": 1453351558,
                "requests_total": 2006,
            },
            {
                "date": "2024-03-19",
                "server": "HML",
                "bytes_total": 2180549593,
                "requests_total": 3005,
            },
        ],
    ),
    "disk.usage": CommandDoc(
        description=(
            "Disk space used per storage (CPU) user and day, for the 30 days from starttime: "
            "the day's last measurement of each user, sorted by date then user."
        ),
        shape="array",
        result_fields=_fields(
            ("summary_date", "string", "The day the disk space was measured, YYYY-MM-DD"),
            ("cpu_user", "string", "The storage (CPU) user"),
            ("bytes_total", "int", "Disk space used in bytes on that day"),
        ),
        example_params={"cpu": "", "starttime": "2024-03-01"},
        example_payload=[
            {"summary_date": "2024-03-01", "cpu_user": "demo", "bytes_total": 5718933504},
            {"summary_date": "2024-03-01", "cpu_user": "jb", "bytes_total": 2541748224},
        ],
    ),
    "viewer.livedetailed": CommandDoc(
        description=(
            "Live viewers per server, vhost, application and stream. Without starttime and "
            "endtime: the latest snapshot of each server for the matching streams, i.e. who "
            "is watching now. With a range: every per-minute snapshot in it, oldest first, "
            "paged with limit and offset. Snapshots are kept for the server's retention "
            f"({DEFAULT_RETENTION_DAYS} days unless its operator configured another)."
        ),
        shape="array",
        result_fields=_fields(
            ("updated", "string", "When the snapshot was taken, YYYY-MM-DD HH:MM:SS (UTC)"),
            ("server", "string", "The server name"),
            ("location", "string", "Where the server is"),
            ("vhost", "string", "The vhost name"),
            ("app", "string", "The application name"),
            ("stream", "string", "The stream name"),
            ("viewers", "int", "Number of viewers"),
            ("protocol", "string", "How they watch: rtmp or hls"),
        ),
        example_params={"app": "demo-live", "url": "concert_*"},
        example_payload=[
            {
                "updated": "2024-03-19 21:00:00",
                "server": "FRA",
                "location": "Frankfurt, DE",
                "vhost": "_defaultVHost_",
                "app": "demo-live",
                "stream": "concert_720p",
                "viewers": 29,
                "protocol": "rtmp",
            }
        ],
    ),
    "aws.upload": CommandDoc(
        description=(
            "Queues a stored file for upload to your S3 bucket and answers the new request "
            "record; an upload worker transfers it (resuming after interruptions) and, with a "
            "callback, POSTs the final record there, signed with your secret. Sending the "
            "same signed request again answers the first record and queues nothing."
        ),
        shape="object",
        result_fields=_AWS_RECORD,
        example_params={"path": "sestore1/jb/path/to/file.mp4", "acl": "private"},
        example_payload={
            **_AWS_EXAMPLE,
            "message": "Queued",
            "results": {},
            "last_updated": "2024-03-19 10:00:00",
            "status": 202,
            "state": "queued",
            "bytes_done": 0,
            "attempts": 0,
        },
    ),
    "aws.status": CommandDoc(
        description=(
            "Retrieve the upload status of AWS S3 upload requests: one request by id (an "
            "object), or the newest requests first (an array). The last 25 requests are "
            "returned by default."
        ),
        shape="array or object",
        result_fields=_AWS_RECORD,
        example_params={"limit": 25, "offset": 0},
        example_payload=[_AWS_EXAMPLE],
    ),
    "youtube.upload": CommandDoc(
        description=(
            "Queues a stored file for upload to your YouTube channel and answers the new "
            "request record; an upload worker sends it in a resumable session and, with a "
            "callback, POSTs the final record there, signed with your secret. Sending the "
            "same signed request again answers the first record and queues nothing."
        ),
        shape="object",
        result_fields=_YOUTUBE_RECORD,
        example_params={
            "path": "sestore1/jb/path/to/file.mp4",
            "title": "My video",
            "tags": "demo,cdn",
            "visibility": "unlisted",
        },
        example_payload={
            **_YOUTUBE_EXAMPLE,
            "message": "Queued",
            "last_updated": "2024-03-19 10:00:00",
            "state": "queued",
            "bytes_done": 0,
            "attempts": 0,
        },
    ),
    "youtube.status": CommandDoc(
        description="Retrieve the upload status of one YouTube upload request by id.",
        shape="object",
        result_fields=_YOUTUBE_RECORD,
        example_params={"id": 2},
        example_payload=_YOUTUBE_EXAMPLE,
    ),
}

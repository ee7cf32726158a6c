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

_TICKET_RECORD = _fields(
    ("key", "string", "The ticket key: give it to the viewer with pass (?key=...&pass=...)"),
    ("pass", "string", "The password given at creation"),
    ("app", "string", "The application patterns, '|'-separated, '*' wildcards"),
    ("video", "string", "The video patterns, '|'-separated, '*' wildcards"),
    (
        "ip",
        "string",
        "The IP rule; an auto or auto/N entry shows the address or network it bound to once used",
    ),
    ("uses", "int", "Playback starts allowed (0: unlimited)"),
    ("used", "int", "Playback starts so far"),
    ("uses_remaining", "int or null", "Starts left; null when unlimited"),
    ("active", "int", "1, or 0 once revoked"),
    ("created_date", "string", "When it was issued, YYYY-MM-DD HH:MM:SS UTC"),
    ("used_date", "string", "The last start, or 0000-00-00 00:00:00 before the first"),
    ("expire_date", "string", "When it stops working, YYYY-MM-DD HH:MM:SS UTC"),
)

_TICKET_EXAMPLE = {
    "key": "mystream.0f8e2c4b9d1a6e3f7c5b2a9d8e1f4c6b.39102367",
    "pass": "unique_random_string_per_request",
    "app": "demo-origin",
    "video": "mystream",
    "ip": "auto/24",
    "uses": 5,
    "used": 0,
    "uses_remaining": 5,
    "active": 1,
    "created_date": "2024-07-18 23:22:40",
    "used_date": "0000-00-00 00:00:00",
    "expire_date": "2024-07-19 23:22:40",
}

_STREAM_USER_RECORD = _fields(
    ("streamuser_id", "int", "The stream user id"),
    ("app", "string", "The origin application"),
    ("stream", "string", "The stream name, or * for every stream of the application"),
    ("user", "string or null", "The publisher's user name; null: publishing needs no credentials"),
    ("auth", "string", "password, or none (the password is stored hashed and never shown)"),
    ("record", "bool or null", "Record the stream on publish (kept as given)"),
    ("record_type", "string or null", "How recordings are versioned (kept as given)"),
    ("segment_type", "string or null", "disabled, schedule, duration or size (kept as given)"),
    ("segment_value", "int, string or null", "The segmenting size, duration or schedule"),
    ("save_folder", "string or null", "The folder recordings go to (kept as given)"),
    ("playlist_count", "int or null", "DVR: chunks kept in the playlist (kept as given)"),
    ("playlist_timeout", "int or null", "DVR: seconds a DVR session is kept (kept as given)"),
    ("enable_dvr", "bool or null", "Whether DVR is on (kept as given)"),
    ("ga_key", "string or null", "A Google Analytics key (kept as given)"),
    ("created", "string", "When it was added, YYYY-MM-DD HH:MM:SS UTC"),
    ("updated", "string", "When its password or settings last changed"),
)

_STREAM_USER_EXAMPLE = {
    "streamuser_id": 1,
    "app": "demo-origin",
    "stream": "mystream",
    "user": "encoder1",
    "auth": "password",
    "record": True,
    "record_type": "stream",
    "segment_type": "size",
    "segment_value": 15,
    "save_folder": None,
    "playlist_count": None,
    "playlist_timeout": None,
    "enable_dvr": None,
    "ga_key": None,
    "created": "2024-07-18 23:22:40",
    "updated": "2024-07-18 23:22:40",
}

_SEVU_PLAYBACK = (
    " The viewer plays with ?key=...&pass=... on the HLS playlist URL or the RTMP play URL; "
    "nginx and nginx-rtmp ask streampanel (see docs/tickets.md)."
)

COMMAND_DOCS.update(
    {
        "sevu.request": CommandDoc(
            description=(
                "Issues a viewer ticket: which applications and videos it opens ('|' lists, "
                "'*' wildcards), from where (an IP, a CIDR network, 0.0.0.0/0, or auto / "
                "auto/24: bound to the first viewer's address or network), how many playback "
                "starts (uses, 0 unlimited; one start is one HLS playlist session or one RTMP "
                "play, never a segment) and until when (expire, or its older name expires; "
                "UTC; a week when absent)." + _SEVU_PLAYBACK
            ),
            shape="object",
            result_fields=_TICKET_RECORD,
            example_params={
                "app": "demo-origin",
                "video": "mystream",
                "pass": "unique_random_string_per_request",
                "ip": "auto/24",
                "uses": 5,
                "expire": "2024-07-19 23:22:40",
            },
            example_payload=_TICKET_EXAMPLE,
        ),
        "sevu.status": CommandDoc(
            description=(
                "A ticket's rules, starts so far, last use and whether it is active. An auto "
                "IP entry shows what it bound to."
            ),
            shape="object",
            result_fields=_TICKET_RECORD,
            example_params={"key": _TICKET_EXAMPLE["key"]},
            example_payload={
                **_TICKET_EXAMPLE,
                "ip": "203.0.113.0/24",
                "used": 1,
                "uses_remaining": 4,
                "used_date": "2024-07-18 23:30:02",
            },
        ),
        "sevu.revoke": CommandDoc(
            description=(
                "Revokes a ticket and answers it (active 0). New playback starts are refused "
                "at once; running sessions stop within ticket_cache_seconds (2 s) plus one "
                "playlist reload."
            ),
            shape="object",
            result_fields=_TICKET_RECORD,
            example_params={"key": _TICKET_EXAMPLE["key"]},
            example_payload={**_TICKET_EXAMPLE, "active": 0},
        ),
        "sevu.errorlog": CommandDoc(
            description=(
                "The attempt log: every playback start, allowed or refused, and every refused "
                "continuation, oldest first, from starttime. With key, that ticket's attempts; "
                "without, every attempt on the account's tickets and applications (attempts "
                "without a valid key included). Attempts are kept 30 days "
                "(ticket_attempt_retention_days)."
            ),
            shape="array",
            result_fields=_fields(
                ("id", "int", "The attempt id"),
                ("datetime", "string", "When, YYYY-MM-DD HH:MM:SS UTC"),
                ("key", "string", "The key presented (empty: none)"),
                ("pass", "string", "The pass presented"),
                ("ip", "string", "The viewer's address"),
                ("app", "string", "The application requested"),
                ("video", "string", "The video requested"),
                ("protocol", "string", "hls or rtmp"),
                ("success", "int", "1 allowed, 0 refused"),
                (
                    "reason",
                    "string",
                    "Why it was refused: Invalid Auth Token, Invalid IP Address, Expiration "
                    "date surpassed, Ticket Revoked, Maximum uses reached, Invalid Application, "
                    "Invalid Video, Invalid Session; empty when allowed",
                ),
            ),
            example_params={"key": _TICKET_EXAMPLE["key"], "starttime": "2024-07-18"},
            example_payload=[
                {
                    "id": 1,
                    "datetime": "2024-07-18 23:30:02",
                    "key": _TICKET_EXAMPLE["key"],
                    "pass": "unique_random_string_per_request",
                    "ip": "203.0.113.7",
                    "app": "demo-origin",
                    "video": "mystream",
                    "protocol": "hls",
                    "success": 1,
                    "reason": "",
                },
                {
                    "id": 2,
                    "datetime": "2024-07-18 23:41:17",
                    "key": _TICKET_EXAMPLE["key"],
                    "pass": "unique_random_string_per_request",
                    "ip": "198.51.100.4",
                    "app": "demo-origin",
                    "video": "mystream",
                    "protocol": "hls",
                    "success": 0,
                    "reason": "Invalid IP Address",
                },
            ],
        ),
        "sevu.errorcount": CommandDoc(
            description=(
                "Attempts counted per key, pass, application, video, IP, outcome and reason, "
                "most attempts first; every filter is an exact value. Paged with limit (25) "
                "and seek."
            ),
            shape="array",
            result_fields=_fields(
                ("key", "string", "The key presented"),
                ("pass", "string", "The pass presented"),
                ("app", "string", "The application requested"),
                ("video", "string", "The video requested"),
                ("ip", "string", "The viewer's address"),
                ("success", "int", "1 allowed, 0 refused"),
                ("reason", "string", "Why they were refused (empty when allowed)"),
                ("attempts", "int", "How many attempts"),
                ("first", "string", "The first of them, YYYY-MM-DD HH:MM:SS UTC"),
                ("last", "string", "The last of them, YYYY-MM-DD HH:MM:SS UTC"),
            ),
            example_params={"app": "demo-origin", "success": "0", "limit": "25", "seek": "0"},
            example_payload=[
                {
                    "key": _TICKET_EXAMPLE["key"],
                    "pass": "unique_random_string_per_request",
                    "app": "demo-origin",
                    "video": "mystream",
                    "ip": "198.51.100.4",
                    "success": 0,
                    "reason": "Invalid IP Address",
                    "attempts": 3,
                    "first": "2024-07-18 23:41:17",
                    "last": "2024-07-18 23:41:29",
                }
            ],
        ),
        "sevu.addstreamuser": CommandDoc(
            description=(
                "Publisher credentials for a stream of an origin application, or for every "
                "stream ('*'): nginx-rtmp's on_publish lets an encoder publish with "
                "rtmp://host/app/stream?user=...&pass=... only when they match. A stream's own "
                "entries decide for it, the '*' entries for the other streams; an entry with "
                "user and pass null opens the stream without credentials, and a stream with "
                "no entry at all is refused. The password is stored as a slow (scrypt) hash and "
                "never shown; adding the same user again replaces it. Recording, segmenting "
                "and DVR settings are stored and shown as given."
            ),
            shape="object",
            result_fields=_STREAM_USER_RECORD,
            example_params={
                "app": "demo-origin",
                "stream": "mystream",
                "user": "encoder1",
                "pass": "a long publisher password",
                "record": True,
                "record_type": "stream",
                "segment_type": "size",
                "segment_value": 15,
            },
            example_payload=_STREAM_USER_EXAMPLE,
        ),
        "sevu.removestreamuser": CommandDoc(
            description=(
                "Removes a stream user, named by streamuser_id or by app, stream and user, and "
                "answers what was removed."
            ),
            shape="object",
            result_fields=_STREAM_USER_RECORD,
            example_params={"streamuser_id": 1},
            example_payload=_STREAM_USER_EXAMPLE,
        ),
        "sevu.liststreamusers": CommandDoc(
            description=(
                "Every stream user of the account, optionally of some applications or one "
                "stream, by id."
            ),
            shape="array",
            result_fields=_STREAM_USER_RECORD,
            example_params={"app": "demo-origin"},
            example_payload=[_STREAM_USER_EXAMPLE],
        ),
        "sevu.retrievestreamuser": CommandDoc(
            description=(
                "One stream user and its stream settings, by streamuser_id or by app, stream "
                "and user."
            ),
            shape="object",
            result_fields=_STREAM_USER_RECORD,
            example_params={"streamuser_id": 1},
            example_payload=_STREAM_USER_EXAMPLE,
        ),
    }
)

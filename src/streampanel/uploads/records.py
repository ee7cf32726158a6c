"""Upload jobs as the API reports them: the documented record fields, plus progress fields."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from streampanel.store.uploads import Job


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _common_tail(job: Job) -> dict[str, Any]:
    return {
        "message": job.message,
        "results": json.loads(job.results or "{}"),
        "created": _when(job.created),
        "last_updated": _when(job.last_updated),
        "status": job.status,
        "state": job.state.value,
        "bytes_done": job.bytes_done,
        "bytes_total": job.bytes_total,
        "attempts": job.attempts,
    }


def aws_record(job: Job) -> dict[str, Any]:
    # The original service's documentation shows `metadata` as JSON text ("{}"): kept so.
    return {
        "id": job.id,
        "cdn_id": job.account_id,
        "path": job.path,
        "destination_path": job.destination_path,
        "bucket": job.bucket,
        "metadata": job.metadata,
        "acl": job.acl,
        "callback": job.callback,
        **_common_tail(job),
    }


def youtube_record(job: Job) -> dict[str, Any]:
    tail = _common_tail(job)
    message = tail.pop("message")
    results = tail.pop("results")
    return {
        "id": job.id,
        "cdn_id": job.account_id,
        "path": job.path,
        "title": job.title,
        "description": job.description,
        "tags": job.tags,
        "visibility": job.visibility,
        "callback": job.callback,
        "youtube_id": job.youtube_id,
        "message": message,
        "results": results,
        **tail,
    }


def record(job: Job) -> dict[str, Any]:
    return aws_record(job) if job.kind == "aws" else youtube_record(job)


def delivery(job: Job) -> dict[str, Any]:
    """The callback's delivery outcome (reported by status, not part of the callback body)."""
    return {
        "state": job.callback_state.value,
        "attempts": job.callback_attempts,
        "http_status": job.callback_http_status,
        "message": job.callback_message,
        "event_id": job.callback_event_id or "",
    }


def status_record(job: Job) -> dict[str, Any]:
    return {**record(job), "callback_delivery": delivery(job)}

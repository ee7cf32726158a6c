"""Registry-walk cases for the upload commands (see tests/commands/test_registry_walk.py)."""

from __future__ import annotations

from typing import Any

from streampanel.runtime import Runtime
from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction
from tests.conftest import Credentials


def _stored_file(runtime: Runtime) -> str:
    root = runtime.settings.storage_roots[0]
    path = root / "demo" / "walk.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"walk")
    return f"{root.name}/demo/walk.mp4"


def _destination(runtime: Runtime, creds: Credentials, kind: str) -> None:
    settings: dict[str, Any] = (
        {"bucket": "walk-bucket", "region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}
        if kind == "aws"
        else {"client_id": "walk-client"}
    )
    with write_transaction(runtime.engine) as conn:
        store.set_destination(conn, runtime.box, creds.cdn, kind, settings, {"secret": "x"})


def aws_upload(runtime: Runtime, creds: Credentials) -> dict[str, Any]:
    _destination(runtime, creds, "aws")
    return {"path": _stored_file(runtime)}


def youtube_upload(runtime: Runtime, creds: Credentials) -> dict[str, Any]:
    _destination(runtime, creds, "youtube")
    return {"path": _stored_file(runtime), "title": "Walk"}


def youtube_job(runtime: Runtime, creds: Credentials) -> dict[str, Any]:
    with write_transaction(runtime.engine) as conn:
        job_id = store.create_job(
            conn,
            {
                "account_id": creds.cdn,
                "kind": "youtube",
                "path": "sestore1/demo/a.mp4",
                "title": "t",
            },
        )
    return {"id": job_id}


CASES = {
    "aws.upload": (aws_upload, {"path": "sestore1/demo/../other/walk.mp4"}),
    "aws.status": (lambda rt, c: {}, {"limit": 1000}),
    "youtube.upload": (youtube_upload, {"path": "sestore1/demo/walk.mp4", "title": ""}),
    "youtube.status": (youtube_job, {"id": 999999}),
}

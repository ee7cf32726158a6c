"""``streampanel serve`` runs an upload worker in-process: an upload end to end over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from streampanel.client import Client
from tests.support.moto import MotoServer
from tests.support.server import LiveServer
from tests.uploads.conftest import Env, s3_client
from tests.uploads.processes import wait_for, worker_env

pytestmark = pytest.mark.slow


def test_serve_uploads_with_its_embedded_worker(
    env: Env, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    env.set_s3(moto.url, bucket)
    env.write("jb/videos/clip.mp4", b"embedded upload")
    server = LiveServer(worker_env(env.settings), tmp_path / "serve.log")
    server.start()
    try:
        with Client(server.api_url, env.creds.cdn, env.creds.api_key, env.creds.secret) as client:
            _upload_and_check(client, env, moto, bucket)
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        assert "streampanel_upload_queue_depth 0.0" in metrics
    finally:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10


def _upload_and_check(client: Client, env: Env, moto: MotoServer, bucket: str) -> None:
    record = client.aws_upload("sestore3/jb/videos/clip.mp4", metadata={"via": "serve"})
    assert record["state"] == "queued"

    def done() -> dict | None:
        status = client.aws_status(id=record["id"])
        return status if status["state"] == "done" else None

    status = wait_for(done, timeout=30, what="embedded worker to finish")
    assert status["results"]["Key"] == "videos/clip.mp4"
    obj = s3_client(moto.url).get_object(Bucket=bucket, Key="videos/clip.mp4")
    assert obj["Body"].read() == b"embedded upload"
    assert obj["Metadata"] == {"via": "serve"}

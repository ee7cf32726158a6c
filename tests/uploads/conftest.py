"""Fixtures for the upload tests: storage roots, a local S3 and YouTube, signed calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from streampanel.api import Dispatcher
from streampanel.client import sign_request
from streampanel.runtime import Runtime
from streampanel.settings import Settings
from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction
from streampanel.uploads.worker import Worker
from tests.conftest import Credentials, MakeAccount
from tests.support.fake_youtube import FakeYouTube
from tests.support.moto import MotoServer
from tests.uploads.processes import end_leftover_workers

S3_KEY = "testing-access"
S3_SECRET = "testing-secret"


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    """Worker processes a failed test left running are ended, not leaked into later tests."""
    yield
    end_leftover_workers()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    for client in _CLIENTS.values():
        client.close()
    _CLIENTS.clear()
    server.stop()


@pytest.fixture(scope="session")
def youtube_server() -> Iterator[FakeYouTube]:
    server = FakeYouTube().start()
    yield server
    server.stop()


@pytest.fixture
def fake_youtube(youtube_server: FakeYouTube) -> FakeYouTube:
    youtube_server.reset()
    return youtube_server


@dataclass
class Env:
    runtime: Runtime
    settings: Settings
    root: Path
    creds: Credentials

    def call(self, command: str, clock: float | None = None, **params: Any) -> dict[str, Any]:
        request = {
            "command": command,
            "api_key": self.creds.api_key,
            "timestamp": int(clock or time.time()),
            "cdn": self.creds.cdn,
            **params,
        }
        signed = sign_request(request, self.creds.secret)
        return self.call_raw(signed.final_json.encode())

    def call_raw(self, raw: bytes) -> dict[str, Any]:
        dispatcher = Dispatcher(self.settings, self.runtime.engine, self.runtime.box)
        return dispatcher.handle(raw).body

    def write(self, relative: str, data: bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def worker(self, **kwargs: Any) -> Worker:
        kwargs.setdefault("burst", True)
        return Worker(self.settings, self.runtime.engine, self.runtime.box, **kwargs)

    def job(self, job_id: int) -> store.Job:
        with self.runtime.engine.connect() as conn:
            job = store.get_job(conn, job_id)
        assert job is not None
        return job

    def set_s3(self, endpoint: str, bucket: str, **secrets: str) -> None:
        with write_transaction(self.runtime.engine) as conn:
            store.set_destination(
                conn,
                self.runtime.box,
                self.creds.cdn,
                "aws",
                {"bucket": bucket, "region": "us-east-1", "endpoint_url": endpoint},
                {
                    "access_key": secrets.get("access_key", S3_KEY),
                    "secret_key": secrets.get("secret_key", S3_SECRET),
                },
            )

    def set_youtube(self, fake: FakeYouTube, refresh_token: str | None = None) -> None:
        with write_transaction(self.runtime.engine) as conn:
            store.set_destination(
                conn,
                self.runtime.box,
                self.creds.cdn,
                "youtube",
                {"client_id": fake.client_id},
                {
                    "client_secret": fake.client_secret,
                    "refresh_token": refresh_token or fake.refresh_token,
                },
            )


def upload_settings(base: Settings, root: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "storage_roots": [root],
        "worker_lease_seconds": 3.0,
        "worker_poll_interval": 0.05,
        "worker_backoff_base": 0.05,
        "worker_backoff_max": 0.2,
        "worker_max_attempts": 3,
        "youtube_chunk_bytes": 256 * 1024,
        "callback_timeout": 5.0,
        **overrides,
    }
    return base.model_copy(update=values)


@pytest.fixture
def env(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> Env:
    root = tmp_path / "sestore3"
    (root / "jb").mkdir(parents=True)
    (root / "other").mkdir(parents=True)
    creds = make_account(158, storage_users=("jb", "demo"))
    make_account(159, storage_users=("other",))
    return Env(runtime, upload_settings(runtime.settings, root), root, creds)


_CLIENTS: dict[str, Any] = {}


def s3_client(endpoint: str) -> Any:
    """The tests' own boto3 client for an endpoint: one per session, closed with moto."""
    if endpoint not in _CLIENTS:
        _CLIENTS[endpoint] = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        )
    return _CLIENTS[endpoint]


_bucket_counter = iter(range(1, 10**6))


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    name = f"bucket-{int(time.time())}-{next(_bucket_counter)}"
    s3_client(moto.url).create_bucket(Bucket=name)
    return name

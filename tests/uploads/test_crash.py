"""Workers killed mid-transfer (SIGKILL) or stopped (SIGTERM): jobs complete exactly once,
without re-sending what the remote side already holds."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.support.fake_youtube import FakeYouTube
from tests.support.moto import MotoServer
from tests.uploads.conftest import Env, s3_client
from tests.uploads.processes import WorkerProcess, wait_for

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def _file(env: Env, relative: str, size: int) -> str:
    data = os.urandom(size)
    env.write(relative, data)
    return hashlib.sha256(data).hexdigest()


def _stored_parts(moto: MotoServer, env: Env, job_id: int) -> set[int]:
    job = env.job(job_id)
    if not job.remote_session:
        return set()
    listed = s3_client(moto.url).list_parts(
        Bucket=job.bucket, Key=job.destination_path, UploadId=job.remote_session
    )
    return {int(p["PartNumber"]) for p in listed.get("Parts", [])}


@pytest.fixture
def slow_moto(moto: MotoServer):
    moto.part_delay = 0.25
    yield moto
    moto.part_delay = 0.0


def test_sigkill_mid_s3_multipart_then_restart(
    env: Env, slow_moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    moto = slow_moto
    env.settings = env.settings.model_copy(
        update={"s3_part_concurrency": 2, "worker_lease_seconds": 2.0}
    )
    env.set_s3(moto.url, bucket)
    size = 15 * 8 * MiB - 1000
    expected = _file(env, "jb/big.mp4", size)
    job_id = env.call("aws.upload", path="sestore3/jb/big.mp4")["data"]["id"]

    first = WorkerProcess(env.settings, tmp_path / "worker1.log")
    wait_for(lambda: len(_stored_parts(moto, env, job_id)) >= 4, what="4 parts", worker=first)
    first.kill()
    # Let parts already handed to the server land before looking.
    import time

    time.sleep(4 * moto.part_delay)
    before = _stored_parts(moto, env, job_id)
    upload_id = env.job(job_id).remote_session
    assert env.job(job_id).state == "uploading" and 4 <= len(before) < 15

    second = WorkerProcess(env.settings, tmp_path / "worker2.log")
    wait_for(lambda: env.job(job_id).state == "done", timeout=90, what="job done", worker=second)
    assert second.terminate() == 0

    job = env.job(job_id)
    assert job.remote_session == upload_id and job.attempts == 2
    assert job.bytes_done == size and job.status == 200
    counts = moto.part_uploads(upload_id)
    assert len(counts) == 15
    assert all(counts[(upload_id, n)] == 1 for n in before), counts
    assert moto.completions(bucket) == 1
    body = s3_client(moto.url).get_object(Bucket=bucket, Key="big.mp4")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == expected


def test_sigkill_mid_youtube_resumable_then_restart(
    env: Env, fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    env.settings = env.settings.model_copy(
        update={
            "youtube_api_root": fake_youtube.root,
            "youtube_token_uri": fake_youtube.token_uri,
            "worker_lease_seconds": 2.0,
        }
    )
    env.set_youtube(fake_youtube)
    fake_youtube.chunk_delay = 0.1
    size = 12 * 256 * 1024 + 17
    expected = _file(env, "jb/clip.mp4", size)
    job_id = env.call("youtube.upload", path="sestore3/jb/clip.mp4", title="Crash")["data"]["id"]

    first = WorkerProcess(env.settings, tmp_path / "worker1.log")

    def received() -> int:
        return sum(s.received for s in fake_youtube.sessions.values())

    wait_for(lambda: received() >= 4 * 256 * 1024, what="1 MiB received", worker=first)
    first.kill()
    assert env.job(job_id).remote_session

    second = WorkerProcess(env.settings, tmp_path / "worker2.log")
    wait_for(lambda: env.job(job_id).state == "done", timeout=60, what="job done", worker=second)
    assert second.terminate() == 0

    job = env.job(job_id)
    assert job.attempts == 2 and job.status == 200
    (session,) = fake_youtube.sessions.values()
    assert session.status_queries >= 1
    assert session.resent_bytes == 0
    assert list(fake_youtube.videos) == [job.youtube_id]
    assert fake_youtube.videos[job.youtube_id].sha256 == expected


def test_sigterm_checkpoints_and_the_next_worker_finishes(
    env: Env, slow_moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    moto = slow_moto
    env.settings = env.settings.model_copy(update={"s3_part_concurrency": 2})
    env.set_s3(moto.url, bucket)
    size = 8 * 8 * MiB
    expected = _file(env, "jb/term.mp4", size)
    job_id = env.call("aws.upload", path="sestore3/jb/term.mp4")["data"]["id"]

    worker = WorkerProcess(env.settings, tmp_path / "worker.log")
    wait_for(lambda: len(_stored_parts(moto, env, job_id)) >= 2, what="2 parts", worker=worker)
    assert worker.terminate(timeout=20) == 0
    job = env.job(job_id)
    assert job.lease_owner is None and job.state == "uploading"
    assert job.attempts == 0 and "Interrupted" in job.message
    before = _stored_parts(moto, env, job_id)
    assert job.bytes_done == 8 * MiB * len(before)

    moto.part_delay = 0.0
    env.worker().run()
    job = env.job(job_id)
    assert job.state == "done" and job.attempts == 1
    counts = moto.part_uploads(job.remote_session)
    assert all(counts[(job.remote_session, n)] == 1 for n in range(1, 9))
    body = s3_client(moto.url).get_object(Bucket=bucket, Key="term.mp4")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == expected

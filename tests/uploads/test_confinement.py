"""A tenant racing the worker with its own tree: no byte from outside it reaches S3 or YouTube.

Two attacks by a tenant with a shell in ``sestore3/jb/`` (the account 158's tree):

A. After the upload's first part or chunk is on its way, the directory holding the file is
   moved aside and replaced by a symlink to another tenant's directory with a file of the
   same name and size.  The transfer keeps reading the file it opened, so what arrives is
   the original file's bytes.

B. No timing at all: ``renameat2(RENAME_EXCHANGE)`` swaps ``race`` (a directory with the
   tenant's own ``master.key``) with a symlink to a data directory holding a secret
   ``master.key``, as fast as it can, while twenty uploads of ``sestore3/jb/race/master.key``
   are queued and run.  Each is the tenant's file or refused; no upload carries the secret
   and no ``bytes_total`` is the secret's size.

Both run against the real worker, with moto's S3 server and the local YouTube stand-in.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fake_youtube import FakeYouTube
from tests.support.moto import MotoServer
from tests.uploads.conftest import Env, s3_client
from tests.uploads.exchange import ExchangeLoop

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
SECRET = b"fernet-master-key:" + b"k" * 40  # 58 bytes
TENANT_KEY = b"the tenant's own master.key file"  # 32 bytes


def _swap_when(condition: Callable[[], bool], tree: Path) -> dict[str, bool]:
    """Replace ``tree/big`` by a symlink to the other tenant's ``big`` once ``condition``."""
    swapped = {"done": False}

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not condition():
            time.sleep(0.005)
        (tree / "big").rename(tree / "big.orig")
        os.symlink("../other/big", tree / "big")
        swapped["done"] = True

    threading.Thread(target=run, daemon=True).start()
    return swapped


def _two_tenants_files(env: Env, size: int) -> tuple[bytes, bytes]:
    mine, theirs = os.urandom(size), os.urandom(size)
    env.write("jb/big/target.bin", mine)
    env.write("other/big/target.bin", theirs)
    return mine, theirs


def _race_layout(env: Env, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "master.key").write_bytes(SECRET)
    env.write("jb/race/master.key", TENANT_KEY)
    os.symlink(data, env.root / "jb" / "race.swap")
    return env.root / "jb"


def _queue_while_racing(
    env: Env, command: str, params: Callable[[int], dict[str, str]]
) -> list[int]:
    """Twenty uploads of ``race/master.key`` queued; the ids of those not refused."""
    ids = []
    for number in range(20):
        answer = env.call(command, path="sestore3/jb/race/master.key", **params(number))
        if answer["code"] == 200:
            ids.append(answer["data"]["id"])
        else:  # the path was the symlink out at that instant
            assert answer["code"] == 400, answer
            assert answer["message"].startswith("Invalid parameter 'path'"), answer
    return ids


# --- S3 ----------------------------------------------------------------------------------


def test_s3_a_directory_swapped_mid_upload_does_not_change_what_is_sent(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    env.set_s3(moto.url, bucket)
    env.settings = env.settings.model_copy(update={"s3_part_concurrency": 1})
    size = 3 * 8 * MiB + 12345  # four parts, sent one at a time
    mine, theirs = _two_tenants_files(env, size)
    job_id = env.call("aws.upload", path="sestore3/jb/big/target.bin")["data"]["id"]

    def first_part_sent() -> bool:
        upload_id = env.job(job_id).remote_session
        return bool(upload_id and moto.part_uploads(upload_id))

    moto.part_delay = 0.3
    try:
        swapped = _swap_when(first_part_sent, env.root / "jb")
        env.worker().run()
    finally:
        moto.part_delay = 0.0
    assert swapped["done"] and (env.root / "jb" / "big").is_symlink()
    job = env.job(job_id)
    assert (job.state, job.bytes_total) == ("done", size), job.message
    assert len(moto.part_uploads(job.remote_session)) == 4
    stored = s3_client(moto.url).get_object(Bucket=bucket, Key="big/target.bin")["Body"].read()
    assert stored == mine and stored != theirs


def test_s3_a_path_leading_out_when_the_worker_opens_it_fails_and_sends_nothing(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    env.set_s3(moto.url, bucket)
    _two_tenants_files(env, 1000)
    job_id = env.call("aws.upload", path="sestore3/jb/big/target.bin")["data"]["id"]
    tree = env.root / "jb"
    (tree / "big").rename(tree / "big.orig")
    os.symlink("../other/big", tree / "big")
    env.worker().run()
    status = env.call("aws.status", id=job_id)["data"]
    assert (status["state"], status["status"]) == ("failed", 400)
    assert "is not allowed" in status["message"]
    assert s3_client(moto.url).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_s3_uploads_racing_a_rename_exchange_never_carry_an_outside_file(
    env: Env, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    env.set_s3(moto.url, bucket)
    tree = _race_layout(env, tmp_path)
    with ExchangeLoop(tree / "race", tree / "race.swap") as loop:
        ids = _queue_while_racing(
            env, "aws.upload", lambda number: {"destination_path": f"race/{number}.key"}
        )
        env.worker(concurrency=2).run()
    assert loop.swaps > 100 and ids
    s3 = s3_client(moto.url)
    for job_id in ids:
        job = env.job(job_id)
        assert job.bytes_total == len(TENANT_KEY) != len(SECRET)
        assert job.state in ("done", "failed")
        if job.state == "failed":
            assert job.status == 400 and "is not allowed" in job.message
    for listed in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read()
        assert body == TENANT_KEY


# --- YouTube -----------------------------------------------------------------------------


@pytest.fixture
def yt_env(env: Env, fake_youtube: FakeYouTube) -> Env:
    env.settings = env.settings.model_copy(
        update={"youtube_api_root": fake_youtube.root, "youtube_token_uri": fake_youtube.token_uri}
    )
    env.set_youtube(fake_youtube)
    return env


def test_youtube_a_directory_swapped_mid_upload_does_not_change_what_is_sent(
    yt_env: Env, fake_youtube: FakeYouTube
) -> None:
    size = 8 * 256 * 1024 + 77  # nine chunks
    mine, theirs = _two_tenants_files(yt_env, size)
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/big/target.bin", title="t")["data"][
        "id"
    ]
    fake_youtube.chunk_delay = 0.1
    swapped = _swap_when(
        lambda: any(s.received for s in fake_youtube.sessions.values()), yt_env.root / "jb"
    )
    yt_env.worker().run()
    assert swapped["done"]
    job = yt_env.job(job_id)
    assert (job.state, job.bytes_total) == ("done", size), job.message
    (session,) = fake_youtube.sessions.values()
    assert session.data_puts == 9
    video = fake_youtube.videos[job.youtube_id]
    assert video.sha256 == hashlib.sha256(mine).hexdigest() != hashlib.sha256(theirs).hexdigest()


def test_youtube_uploads_racing_a_rename_exchange_never_carry_an_outside_file(
    yt_env: Env, fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    tree = _race_layout(yt_env, tmp_path)
    with ExchangeLoop(tree / "race", tree / "race.swap") as loop:
        ids = _queue_while_racing(yt_env, "youtube.upload", lambda number: {"title": f"{number}"})
        yt_env.worker(concurrency=2).run()
    assert loop.swaps > 100 and ids
    for job_id in ids:
        job = yt_env.job(job_id)
        assert job.bytes_total == len(TENANT_KEY) != len(SECRET)
        assert job.state in ("done", "failed")
        if job.state == "failed":
            assert job.status == 400 and "is not allowed" in job.message
    secret = hashlib.sha256(SECRET).hexdigest()
    assert all(video.sha256 != secret for video in fake_youtube.videos.values())
    assert {video.sha256 for video in fake_youtube.videos.values()} <= {
        hashlib.sha256(TENANT_KEY).hexdigest()
    }
    assert all(session.total != len(SECRET) for session in fake_youtube.sessions.values())

"""YouTube uploads by the worker: the real google-api-python-client against the local fake."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from streampanel.store.tables.uploads import upload_jobs
from tests.support.fake_youtube import FakeYouTube
from tests.uploads.conftest import Env

pytestmark = pytest.mark.slow


@pytest.fixture
def yt_env(env: Env, fake_youtube: FakeYouTube) -> Env:
    env.settings = env.settings.model_copy(
        update={
            "youtube_api_root": fake_youtube.root,
            "youtube_token_uri": fake_youtube.token_uri,
        }
    )
    env.set_youtube(fake_youtube)
    return env


def _video(env: Env, size: int) -> str:
    data = os.urandom(size)
    env.write("jb/videos/clip.mp4", data)
    return hashlib.sha256(data).hexdigest()


def test_resumable_upload_in_chunks(yt_env: Env, fake_youtube: FakeYouTube) -> None:
    size = 5 * 256 * 1024 + 99
    expected = _video(yt_env, size)
    job_id = yt_env.call(
        "youtube.upload",
        path="sestore3/jb/videos/clip.mp4",
        title="My Video",
        description="first",
        tags="a, b,,c",
        visibility="unlisted",
    )["data"]["id"]
    yt_env.worker().run()

    status = yt_env.call("youtube.status", id=job_id)["data"]
    assert (status["state"], status["status"], status["attempts"]) == ("done", 200, 1)
    assert status["message"] == "Successfully Uploaded to Youtube"
    assert status["bytes_done"] == status["bytes_total"] == size
    video = fake_youtube.videos[status["youtube_id"]]
    assert video.sha256 == expected and video.size == size
    assert status["results"] == {
        "etag": video.resource["etag"],
        "id": status["youtube_id"],
        "kind": "youtube#video",
    }
    assert video.resource["snippet"]["title"] == "My Video"
    assert video.resource["snippet"]["tags"] == ["a", "b", "c"]
    assert video.resource["status"]["privacyStatus"] == "unlisted"
    (session,) = fake_youtube.sessions.values()
    assert session.puts == 6 and session.resent_bytes == 0
    assert fake_youtube.token_requests == 1
    assert yt_env.job(job_id).remote_session.endswith(session.id)


def test_bad_refresh_token_fails_at_once(yt_env: Env, fake_youtube: FakeYouTube) -> None:
    yt_env.set_youtube(fake_youtube, refresh_token="revoked")
    _video(yt_env, 1000)
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")["data"][
        "id"
    ]
    yt_env.worker().run()
    status = yt_env.call("youtube.status", id=job_id)["data"]
    assert (status["state"], status["status"], status["attempts"]) == ("failed", 401, 1)
    assert "invalid_grant" in status["message"]
    assert not fake_youtube.sessions


def test_server_error_mid_upload_resumes_the_same_session(
    yt_env: Env, fake_youtube: FakeYouTube
) -> None:
    size = 4 * 256 * 1024
    expected = _video(yt_env, size)
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")["data"][
        "id"
    ]
    # The session starts; its second chunk PUT answers 503.
    fake_youtube.fail_chunk[2] = 503
    yt_env.worker().run()
    status = yt_env.call("youtube.status", id=job_id)["data"]
    assert (status["state"], status["attempts"]) == ("done", 2)
    (session,) = fake_youtube.sessions.values()
    assert session.status_queries == 1 and session.resent_bytes == 0
    assert fake_youtube.videos[status["youtube_id"]].sha256 == expected


def test_forbidden_fails_at_once_with_remote_status(yt_env: Env, fake_youtube: FakeYouTube) -> None:
    _video(yt_env, 1000)
    fake_youtube.fail_next.append(403)
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")["data"][
        "id"
    ]
    yt_env.worker().run()
    status = yt_env.call("youtube.status", id=job_id)["data"]
    assert (status["state"], status["status"], status["attempts"]) == ("failed", 403, 1)
    assert "Injected failure 403" in status["message"]


def test_rate_limited_session_start_is_retried(yt_env: Env, fake_youtube: FakeYouTube) -> None:
    _video(yt_env, 1000)
    fake_youtube.fail_next.extend([429, 500])
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")["data"][
        "id"
    ]
    yt_env.worker().run()
    status = yt_env.call("youtube.status", id=job_id)["data"]
    assert (status["state"], status["attempts"]) == ("done", 3)


def test_stop_checkpoints_and_the_next_run_continues_the_session(
    yt_env: Env, fake_youtube: FakeYouTube
) -> None:
    size = 10 * 256 * 1024
    expected = _video(yt_env, size)
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")["data"][
        "id"
    ]
    fake_youtube.chunk_delay = 0.05
    first = yt_env.worker()

    def stop_after_two_chunks() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(s.received for s in fake_youtube.sessions.values()) >= 2 * 256 * 1024:
                break
            time.sleep(0.005)
        first.stop()

    threading.Thread(target=stop_after_two_chunks, daemon=True).start()
    first.run()
    job = yt_env.job(job_id)
    assert job.state == "uploading" and job.lease_owner is None
    assert "Interrupted" in job.message and job.attempts == 0
    (session,) = fake_youtube.sessions.values()
    assert 0 < session.received < size

    fake_youtube.chunk_delay = 0.0
    yt_env.worker().run()
    job = yt_env.job(job_id)
    assert job.state == "done" and job.attempts == 1
    assert list(fake_youtube.sessions) == [session.id]
    assert session.resent_bytes == 0 and session.status_queries == 1
    assert fake_youtube.videos[job.youtube_id].sha256 == expected


def test_killed_after_the_last_chunk_finds_the_finished_video(
    yt_env: Env, fake_youtube: FakeYouTube
) -> None:
    """The session answered 200 but the worker died before recording it: the status query
    of the resumed job gets the video back; nothing is uploaded twice."""
    _video(yt_env, 3 * 256 * 1024)
    job_id = yt_env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")["data"][
        "id"
    ]
    yt_env.worker().run()
    done = yt_env.job(job_id)
    with yt_env.runtime.engine.begin() as conn:
        conn.execute(
            upload_jobs.update()
            .where(upload_jobs.c.id == job_id)
            .values(state="uploading", status=202, youtube_id="", results="{}", due_at=done.created)
        )
    (session,) = fake_youtube.sessions.values()
    yt_env.worker().run()
    again = yt_env.job(job_id)
    assert again.state == "done" and again.youtube_id == done.youtube_id
    assert len(fake_youtube.videos) == 1 and list(fake_youtube.sessions) == [session.id]
    assert session.resent_bytes == 0 and session.status_queries == 1

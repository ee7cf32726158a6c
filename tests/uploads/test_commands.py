"""aws.upload / aws.status / youtube.upload / youtube.status through the dispatcher."""

from __future__ import annotations

import os
import threading
import time

from sqlalchemy import func, select

from streampanel.client import sign_request
from streampanel.store.tables.uploads import upload_jobs
from tests.uploads.conftest import Env

AWS_FIELDS = {
    "id",
    "cdn_id",
    "path",
    "destination_path",
    "metadata",
    "acl",
    "callback",
    "message",
    "results",
    "created",
    "last_updated",
    "status",
}
YOUTUBE_FIELDS = {
    "id",
    "cdn_id",
    "path",
    "title",
    "description",
    "tags",
    "visibility",
    "callback",
    "youtube_id",
    "message",
    "results",
    "created",
    "last_updated",
    "status",
}
PROGRESS_FIELDS = {"state", "bytes_done", "bytes_total", "attempts"}


def _jobs(env: Env) -> int:
    with env.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(upload_jobs)).scalar_one())


def _ready(env: Env) -> None:
    env.set_s3("http://127.0.0.1:9", "media-bucket")
    env.write("jb/videos/clip.mp4", b"0123456789")


def test_aws_upload_queues_a_record_with_the_documented_fields(env: Env) -> None:
    _ready(env)
    out = env.call(
        "aws.upload",
        path="sestore3/jb/videos/clip.mp4",
        metadata={"team": "news", "take": 2},
        acl="public-read",
        callback="https://example.com/hook",
    )
    assert out["status"] == "success" and out["message"] == "AWS Upload Queued"
    data = out["data"]
    assert set(data) >= AWS_FIELDS | PROGRESS_FIELDS
    assert data["cdn_id"] == 158
    assert data["path"] == "sestore3/jb/videos/clip.mp4"
    assert data["destination_path"] == "videos/clip.mp4"
    assert data["bucket"] == "media-bucket"
    assert data["metadata"] == '{"team": "news", "take": "2"}'
    assert data["acl"] == "public-read"
    assert data["callback"] == "https://example.com/hook"
    assert (data["status"], data["state"], data["attempts"]) == (202, "queued", 0)
    assert (data["bytes_done"], data["bytes_total"]) == (0, 10)
    assert data["results"] == {}

    status = env.call("aws.status", id=data["id"])
    assert status["message"] == "Found AWS Status"
    assert status["data"]["id"] == data["id"]
    assert set(status["data"]) >= AWS_FIELDS | PROGRESS_FIELDS


def test_destination_path_and_bucket_can_be_given(env: Env) -> None:
    _ready(env)
    data = env.call(
        "aws.upload",
        path="sestore3/jb/videos/clip.mp4",
        destination_path="archive/2024/clip.mp4",
        bucket="other-bucket",
    )["data"]
    assert (data["destination_path"], data["bucket"]) == ("archive/2024/clip.mp4", "other-bucket")


def _signed_upload(env: Env) -> bytes:
    """One signed aws.upload request, to be sent more than once."""
    request = {
        "command": "aws.upload",
        "api_key": env.creds.api_key,
        "timestamp": int(time.time()),
        "cdn": 158,
        "path": "sestore3/jb/videos/clip.mp4",
    }
    return sign_request(request, env.creds.secret).final_json.encode()


def test_same_signed_request_is_idempotent(env: Env) -> None:
    _ready(env)
    raw = _signed_upload(env)
    first = env.call_raw(raw)
    second = env.call_raw(raw)
    assert first["data"] == second["data"]
    assert _jobs(env) == 1
    # A new request (new timestamp, new signature) is a new upload.
    env.call("aws.upload", clock=time.time() + 1, path="sestore3/jb/videos/clip.mp4")
    assert _jobs(env) == 2


def test_bad_paths_answer_400_and_queue_nothing(env: Env) -> None:
    _ready(env)
    (env.root / "other" / "theirs.mp4").write_bytes(b"x")
    os.symlink("/etc/hostname", env.root / "jb" / "escape.mp4")
    for path in (
        "sestore3/jb/../other/theirs.mp4",
        "/etc/hostname",
        "sestore3/other/theirs.mp4",
        "sestore3/jb/escape.mp4",
        "sestore1/jb/videos/clip.mp4",
    ):
        out = env.call("aws.upload", path=path)
        assert out["code"] == 400, (path, out)
        assert "'path'" in out["message"]
        out = env.call("youtube.upload", path=path, title="t")
        assert out["code"] in (400, 409)
    assert _jobs(env) == 0


def test_missing_file_answers_404_and_queues_nothing(env: Env) -> None:
    _ready(env)
    out = env.call("aws.upload", path="sestore3/jb/videos/nothing.mp4")
    assert out["code"] == 404
    assert _jobs(env) == 0


def test_parameters_are_checked(env: Env) -> None:
    _ready(env)
    path = "sestore3/jb/videos/clip.mp4"
    cases = [
        ({"acl": "public"}, "acl"),
        ({"metadata": "not json"}, "metadata"),
        ({"metadata": {"a": {"nested": 1}}}, "metadata"),
        ({"callback": "ftp://example.com/x"}, "callback"),
        ({"callback": "javascript:alert(1)"}, "callback"),
        ({"bucket": "Not_A_Bucket"}, "bucket"),
        ({"destination_path": "/abs/key"}, "destination_path"),
    ]
    for params, field in cases:
        out = env.call("aws.upload", path=path, **params)
        assert out["code"] == 400 and f"'{field}'" in out["message"], (params, out)
    assert env.call("aws.upload")["code"] == 400
    assert env.call("aws.status", limit=101)["code"] == 400
    assert env.call("aws.status", limit=0)["code"] == 400
    assert env.call("aws.status", offset=-1)["code"] == 400
    assert _jobs(env) == 0


def test_without_a_destination_uploads_are_refused(env: Env) -> None:
    env.write("jb/videos/clip.mp4", b"x")
    out = env.call("aws.upload", path="sestore3/jb/videos/clip.mp4")
    assert out["code"] == 409 and "S3" in out["message"]
    out = env.call("youtube.upload", path="sestore3/jb/videos/clip.mp4", title="t")
    assert out["code"] == 409 and "YouTube" in out["message"]


def test_aws_status_lists_newest_first_with_limit_and_offset(env: Env) -> None:
    _ready(env)
    ids = [
        env.call("aws.upload", clock=time.time() + i, path="sestore3/jb/videos/clip.mp4")["data"][
            "id"
        ]
        for i in range(5)
    ]
    listed = env.call("aws.status")["data"]
    assert [r["id"] for r in listed] == list(reversed(ids))
    page = env.call("aws.status", limit=2, offset=1)["data"]
    assert [r["id"] for r in page] == list(reversed(ids))[1:3]
    assert env.call("aws.status", id=999)["code"] == 404


def test_ids_and_offsets_beyond_the_store_s_integers_are_invalid_parameters(env: Env) -> None:
    # Found by the fuzzer: PostgreSQL refused to compare 2**31 with the id column (a 503).
    for params in ({"id": 2**31}, {"id": "2147483648"}, {"offset": 2**63}):
        body = env.call("aws.status", **params)
        assert body["code"] == 400, body
        assert f"'{next(iter(params))}'" in body["message"]
    assert env.call("aws.status", id=2**31 - 1)["code"] == 404
    assert env.call("youtube.status", id=2**31)["code"] == 400


def test_records_of_other_accounts_are_not_visible(env: Env, make_account) -> None:
    _ready(env)
    job_id = env.call("aws.upload", path="sestore3/jb/videos/clip.mp4")["data"]["id"]
    other = make_account(160)
    intruder = Env(env.runtime, env.settings, env.root, other)
    assert intruder.call("aws.status", id=job_id)["code"] == 404
    assert intruder.call("aws.status")["data"] == []
    assert intruder.call("youtube.status", id=job_id)["code"] == 404


def test_youtube_upload_and_status(env: Env, fake_youtube) -> None:
    env.set_youtube(fake_youtube)
    env.write("jb/videos/clip.mp4", b"video")
    out = env.call(
        "youtube.upload",
        path="sestore3/jb/videos/clip.mp4",
        title="My Video",
        description="this is my first upload",
        tags="csv,string,of,tags",
        visibility="unlisted",
    )
    assert out["message"] == "Youtube Upload Queued"
    data = out["data"]
    assert set(data) >= YOUTUBE_FIELDS | PROGRESS_FIELDS
    assert (data["title"], data["tags"], data["visibility"]) == (
        "My Video",
        "csv,string,of,tags",
        "unlisted",
    )
    assert data["youtube_id"] == "" and data["status"] == 202
    status = env.call("youtube.status", id=data["id"])
    assert status["message"] == "Found Youtube Status"
    assert status["data"]["id"] == data["id"]
    # An aws.status id lookup does not find YouTube requests, and vice versa.
    assert env.call("aws.status", id=data["id"])["code"] == 404


def test_youtube_parameters_are_checked(env: Env, fake_youtube) -> None:
    env.set_youtube(fake_youtube)
    env.write("jb/videos/clip.mp4", b"video")
    path = "sestore3/jb/videos/clip.mp4"
    cases = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"title": "t", "description": "x" * 5001}, "description"),
        ({"title": "t", "tags": "x" * 501}, "tags"),
        ({"title": "t", "visibility": "secret"}, "visibility"),
    ]
    for params, field in cases:
        out = env.call("youtube.upload", path=path, **params)
        assert out["code"] == 400 and f"'{field}'" in out["message"], (params, out)
    assert env.call("youtube.status")["code"] == 400
    assert env.call("youtube.status", id="abc")["code"] == 400
    assert _jobs(env) == 0


def test_read_only_keys_cannot_upload(env: Env, make_account) -> None:
    _ready(env)
    reader = make_account(158, read_only=True)
    as_reader = Env(env.runtime, env.settings, env.root, reader)
    assert as_reader.call("aws.upload", path="sestore3/jb/videos/clip.mp4")["code"] == 403
    assert as_reader.call("aws.status")["code"] == 200
    assert _jobs(env) == 0


def test_the_same_request_racing_itself_queues_one_job(env: Env) -> None:
    _ready(env)
    raw = _signed_upload(env)
    barrier = threading.Barrier(4)
    answers: list[dict] = []

    def send() -> None:
        barrier.wait()
        answers.append(env.call_raw(raw))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a["code"] for a in answers] == [200] * 4, answers
    assert len({a["data"]["id"] for a in answers}) == 1
    assert _jobs(env) == 1

"""S3 uploads by the worker against moto's S3 server over HTTP, with real boto3."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import pytest

from streampanel.store.tables.uploads import upload_jobs
from tests.support.moto import MotoServer
from tests.support.postgres import free_port
from tests.uploads.conftest import Env, s3_client

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def _random_file(env: Env, relative: str, size: int) -> str:
    path = env.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * MiB))
            handle.write(block)
            digest.update(block)
            remaining -= len(block)
    return digest.hexdigest()


def _sha256_of_object(moto: MotoServer, bucket: str, key: str) -> str:
    body = s3_client(moto.url).get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    for block in iter(lambda: body.read(4 * MiB), b""):
        digest.update(block)
    return digest.hexdigest()


def test_large_file_goes_up_in_parts_with_metadata_and_acl(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    env.set_s3(moto.url, bucket)
    size = 100 * MiB + 12345
    expected = _random_file(env, "jb/big/movie.mp4", size)
    data = env.call(
        "aws.upload", path="sestore3/jb/big/movie.mp4", metadata={"team": "news"}, acl="public-read"
    )["data"]
    env.worker(concurrency=2).run()

    status = env.call("aws.status", id=data["id"])["data"]
    assert (status["state"], status["status"], status["attempts"]) == ("done", 200, 1)
    assert status["message"] == "Successfully Uploaded to AWS"
    assert status["bytes_done"] == status["bytes_total"] == size
    assert _sha256_of_object(moto, bucket, "big/movie.mp4") == expected

    job = env.job(data["id"])
    parts = moto.part_uploads(job.remote_session)
    assert len(parts) == -(-size // job.part_size) > 1
    assert set(parts.values()) == {1}

    s3 = s3_client(moto.url)
    head = s3.head_object(Bucket=bucket, Key="big/movie.mp4")
    results = status["results"]
    assert results["Bucket"] == bucket and results["Key"] == "big/movie.mp4"
    assert results["ETag"] == head["ETag"] and results["ETag"].endswith(f'-{len(parts)}"')
    assert results["Location"] and results["ObjectURL"].endswith(f"/{bucket}/big/movie.mp4")
    assert head["Metadata"] == {"team": "news"}
    assert head["ContentType"] == "video/mp4"
    grants = s3.get_object_acl(Bucket=bucket, Key="big/movie.mp4")["Grants"]
    assert any(
        g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ"
        for g in grants
    )


def test_small_file_is_one_put(env: Env, moto: MotoServer, bucket: str) -> None:
    env.set_s3(moto.url, bucket)
    env.write("jb/small.mp4", b"small file")
    data = env.call("aws.upload", path="sestore3/jb/small.mp4", destination_path="x/y.mp4")["data"]
    env.worker().run()
    status = env.call("aws.status", id=data["id"])["data"]
    assert status["state"] == "done", status
    assert status["results"]["ETag"] == f'"{hashlib.md5(b"small file").hexdigest()}"'
    body = s3_client(moto.url).get_object(Bucket=bucket, Key="x/y.mp4")["Body"].read()
    assert body == b"small file"
    assert (
        s3_client(moto.url).get_object_acl(Bucket=bucket, Key="x/y.mp4")["Grants"][0]["Permission"]
        == "FULL_CONTROL"
    )


def test_a_file_changed_since_queueing_is_sent_as_opened_with_its_size(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    env.set_s3(moto.url, bucket)
    env.write("jb/grows.mp4", b"short")
    job_id = env.call("aws.upload", path="sestore3/jb/grows.mp4")["data"]["id"]
    assert env.job(job_id).bytes_total == 5
    env.write("jb/grows.mp4", b"now a longer file")
    env.worker().run()
    status = env.call("aws.status", id=job_id)["data"]
    assert status["state"] == "done"
    assert status["bytes_done"] == status["bytes_total"] == 17
    body = s3_client(moto.url).get_object(Bucket=bucket, Key="grows.mp4")["Body"].read()
    assert body == b"now a longer file"


def test_missing_bucket_fails_at_once_with_the_remote_message(env: Env, moto: MotoServer) -> None:
    env.set_s3(moto.url, "no-such-bucket-here")
    env.write("jb/small.mp4", b"x" * 100)
    env.write("jb/large.mp4", b"x" * (9 * MiB))
    ids = [
        env.call("aws.upload", path=f"sestore3/jb/{name}")["data"]["id"]
        for name in ("small.mp4", "large.mp4")
    ]
    env.worker().run()
    for job_id in ids:
        status = env.call("aws.status", id=job_id)["data"]
        assert (status["state"], status["status"], status["attempts"]) == ("failed", 404, 1)
        assert "NoSuchBucket" in status["message"]


def test_unreachable_endpoint_is_retried_with_backoff_then_fails(env: Env) -> None:
    env.set_s3(f"http://127.0.0.1:{free_port()}", "some-bucket")
    env.write("jb/small.mp4", b"x" * 100)
    job_id = env.call("aws.upload", path="sestore3/jb/small.mp4")["data"]["id"]
    env.worker().run()
    status = env.call("aws.status", id=job_id)["data"]
    assert status["state"] == "failed"
    assert status["attempts"] == env.settings.worker_max_attempts == 3
    assert status["status"] == 503
    assert "connect" in status["message"].lower()


def test_file_removed_after_queueing_fails_with_404(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    env.set_s3(moto.url, bucket)
    path = env.write("jb/gone.mp4", b"x")
    job_id = env.call("aws.upload", path="sestore3/jb/gone.mp4")["data"]["id"]
    path.unlink()
    env.worker().run()
    status = env.call("aws.status", id=job_id)["data"]
    assert (status["state"], status["status"], status["attempts"]) == ("failed", 404, 1)


def test_interrupted_job_resumes_from_the_stored_upload_id(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    """A stop (as on SIGTERM) checkpoints; the next run lists stored parts and sends the rest."""
    env.set_s3(moto.url, bucket)
    size = 40 * MiB + 1
    expected = _random_file(env, "jb/resume.mp4", size)
    job_id = env.call("aws.upload", path="sestore3/jb/resume.mp4")["data"]["id"]
    env.settings = env.settings.model_copy(update={"s3_part_concurrency": 2})
    first = env.worker()

    def stop_after_two_parts() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            upload_id = env.job(job_id).remote_session
            if upload_id and len(moto.part_uploads(upload_id)) >= 2:
                break
            time.sleep(0.01)
        first.stop()

    moto.part_delay = 0.2
    try:
        threading.Thread(target=stop_after_two_parts, daemon=True).start()
        first.run()
    finally:
        moto.part_delay = 0.0
    job = env.job(job_id)
    assert job.state == "uploading" and job.lease_owner is None
    assert job.attempts == 0 and "Interrupted" in job.message
    upload_id = job.remote_session
    stored = {p for (_, p) in moto.part_uploads(upload_id)}
    assert 0 < len(stored) < 6

    env.worker().run()
    done = env.job(job_id)
    assert done.state == "done" and done.attempts == 1
    assert done.remote_session == upload_id
    counts = moto.part_uploads(upload_id)
    assert all(counts[(upload_id, p)] == 1 for p in stored)
    assert len(counts) == 6
    assert _sha256_of_object(moto, bucket, "resume.mp4") == expected
    assert json.loads(done.results)["Key"] == "resume.mp4"


def test_killed_while_completing_recognises_the_finished_object(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    """A worker killed after CompleteMultipartUpload but before recording it: the next run
    finds the upload id gone, recognises the object by its multipart ETag, sends nothing."""
    env.set_s3(moto.url, bucket)
    data = os.urandom(9 * MiB)
    env.write("jb/done.mp4", data)
    job_id = env.call("aws.upload", path="sestore3/jb/done.mp4")["data"]["id"]
    # What the killed worker had done: the whole multipart upload, completed.
    s3 = s3_client(moto.url)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="done.mp4")["UploadId"]
    parts = []
    for number, chunk in enumerate((data[: 8 * MiB], data[8 * MiB :]), start=1):
        etag = s3.upload_part(
            Bucket=bucket, Key="done.mp4", UploadId=upload_id, PartNumber=number, Body=chunk
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="done.mp4", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    with env.runtime.engine.begin() as conn:
        conn.execute(
            upload_jobs.update()
            .where(upload_jobs.c.id == job_id)
            .values(
                remote_session=upload_id,
                part_size=8 * MiB,
                completing=json.dumps(parts),
                state="uploading",
                attempts=1,
            )
        )
    requests_before = len(moto.requests)

    env.worker().run()
    job = env.job(job_id)
    assert (job.state, job.attempts) == ("done", 2)
    assert json.loads(job.results)["ETag"] == s3.head_object(Bucket=bucket, Key="done.mp4")["ETag"]
    later = moto.requests[requests_before:]
    assert not [r for r in later if r.method in ("PUT", "POST")], later


def test_failures_are_sorted_into_transient_and_permanent() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from streampanel.uploads.errors import PermanentFailure, TransientFailure
    from streampanel.uploads.s3 import classify

    def client_error(code: str, status: int) -> ClientError:
        return ClientError(
            {
                "Error": {"Code": code, "Message": f"{code} says no"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "UploadPart",
        )

    for code, status in (
        ("AccessDenied", 403),
        ("InvalidAccessKeyId", 403),
        ("SignatureDoesNotMatch", 403),
        ("NoSuchBucket", 404),
    ):
        failure = classify(client_error(code, status))
        assert isinstance(failure, PermanentFailure)
        assert failure.status == status and failure.message == f"{code}: {code} says no"
    for code, status in (("SlowDown", 503), ("InternalError", 500), ("TooManyRequests", 429)):
        assert isinstance(classify(client_error(code, status)), TransientFailure)
    assert isinstance(classify(EndpointConnectionError(endpoint_url="http://x")), TransientFailure)


def test_a_job_failing_for_good_aborts_its_multipart_upload(
    env: Env, moto: MotoServer, bucket: str
) -> None:
    env.set_s3(moto.url, bucket)
    path = env.write("jb/vanishing.mp4", b"x" * (9 * MiB))
    job_id = env.call("aws.upload", path="sestore3/jb/vanishing.mp4")["data"]["id"]
    s3 = s3_client(moto.url)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="vanishing.mp4")["UploadId"]
    with env.runtime.engine.begin() as conn:
        conn.execute(
            upload_jobs.update()
            .where(upload_jobs.c.id == job_id)
            .values(remote_session=upload_id, part_size=8 * MiB, state="uploading", attempts=1)
        )
    path.unlink()
    env.worker().run()
    job = env.job(job_id)
    assert (job.state, job.status) == ("failed", 404)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

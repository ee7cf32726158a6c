"""The job table as a queue: claims, leases, lease-guarded writes, storage-root routing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction
from streampanel.store.tables.uploads import upload_jobs
from streampanel.uploads.lease import now
from tests.uploads.conftest import Env


def _job(env: Env, path: str = "sestore3/jb/a.mp4") -> int:
    with write_transaction(env.runtime.engine) as conn:
        return store.create_job(conn, {"account_id": 158, "kind": "aws", "path": path})


def _claim(
    env: Env, owner: str, at: datetime | None = None, roots: Sequence[str] = ("sestore3",)
) -> store.Job | None:
    with write_transaction(env.runtime.engine) as conn:
        return store.claim(conn, owner, at or now(), 5.0, list(roots))


def test_a_claimed_job_is_nobody_elses_until_its_lease_expires(env: Env) -> None:
    job_id = _job(env)
    first = _claim(env, "a")
    assert first is not None and first.id == job_id and first.lease_owner == "a"
    assert _claim(env, "b") is None
    later = _claim(env, "b", at=now() + timedelta(seconds=6))
    assert later is not None and later.lease_owner == "b"
    # The old holder's writes no longer land.
    with write_transaction(env.runtime.engine) as conn:
        assert not store.update_job(conn, job_id, "a", message="stale")
        assert not store.extend_lease(conn, job_id, "a", now() + timedelta(seconds=60))
        assert store.update_job(conn, job_id, "b", message="fresh")
    assert env.job(job_id).message == "fresh"


def test_jobs_are_claimed_oldest_due_first_and_not_before_due(env: Env) -> None:
    ids = [_job(env) for _ in range(3)]
    with write_transaction(env.runtime.engine) as conn:
        store.release(conn, ids[0], "nobody")  # not held: no effect
    with env.runtime.engine.begin() as conn:
        conn.execute(
            upload_jobs.update()
            .where(upload_jobs.c.id == ids[0])
            .values(due_at=now() + timedelta(hours=1))
        )
    assert [_claim(env, f"w{i}").id for i in range(2)] == ids[1:]
    assert _claim(env, "w3") is None
    with env.runtime.engine.connect() as conn:
        assert store.has_claimable_work(conn, now(), ["sestore3"])  # due later
        assert store.queue_depth(conn) == 3


def test_workers_take_only_jobs_under_their_storage_roots(env: Env) -> None:
    _job(env, "sestore3/jb/a.mp4")
    assert _claim(env, "elsewhere", roots=["sestore7"]) is None
    assert _claim(env, "no-roots", roots=[]) is None
    assert _claim(env, "similar", roots=["sestore"]) is None  # a prefix of the name is not it
    with env.runtime.engine.connect() as conn:
        assert not store.has_claimable_work(conn, now(), ["sestore7"])
    assert _claim(env, "right", roots=["sestore1", "sestore3"]) is not None


def test_a_worker_without_the_root_leaves_the_job_alone(env: Env) -> None:
    env.set_s3("http://127.0.0.1:9", "some-bucket")
    env.write("jb/a.mp4", b"x")
    job_id = env.call("aws.upload", path="sestore3/jb/a.mp4")["data"]["id"]
    other = env.settings.model_copy(update={"storage_roots": [env.root.parent / "sestore7"]})
    Env(env.runtime, other, env.root, env.creds).worker().run()
    job = env.job(job_id)
    assert (job.state, job.attempts, job.lease_owner) == ("queued", 0, None)

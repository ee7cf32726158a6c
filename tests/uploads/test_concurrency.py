"""Scale-out on PostgreSQL: three worker processes share one queue; every job runs once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from streampanel.store.tables.uploads import upload_jobs
from tests.support.moto import MotoServer
from tests.uploads.conftest import Env
from tests.uploads.processes import WorkerProcess

pytestmark = pytest.mark.slow

JOBS = 200


def test_three_workers_200_jobs_each_done_exactly_once(
    env: Env, store_kind: str, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    if store_kind != "postgresql":
        pytest.skip("scale-out (FOR UPDATE SKIP LOCKED) is a PostgreSQL feature")
    # A lease long enough that a CPU-starved heartbeat (3 workers on a small CI box) holds it.
    env.settings = env.settings.model_copy(update={"worker_lease_seconds": 15.0})
    env.set_s3(moto.url, bucket)
    for i in range(JOBS):
        env.write(f"jb/small/{i:03d}.mp4", f"file {i}".encode())
        out = env.call("aws.upload", path=f"sestore3/jb/small/{i:03d}.mp4")
        assert out["code"] == 200, out

    workers = [
        WorkerProcess(env.settings, tmp_path / f"worker{n}.log", "--burst", "--concurrency", "4")
        for n in range(3)
    ]
    for worker in workers:
        assert worker.wait(180) == 0, worker.output()

    with env.runtime.engine.connect() as conn:
        rows = conn.execute(
            select(upload_jobs.c.state, upload_jobs.c.attempts, upload_jobs.c.lease_owner)
        ).all()
    assert len(rows) == JOBS
    assert {(r.state, r.attempts, r.lease_owner) for r in rows} == {("done", 1, None)}
    puts = moto.object_puts(bucket)
    assert len(puts) == JOBS and set(puts.values()) == {1}
    # The work was shared: every worker ran some of it.
    logs = [w.output() for w in workers]
    assert all("done" in log for log in logs), logs

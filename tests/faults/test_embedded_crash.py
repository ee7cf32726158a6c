"""SIGKILL of the embedded server during an upload and an ingest: on restart both resume and
finish, nothing lost and nothing doubled (the same totals as one clean run; the S3 object
equal to the file, its stored parts not sent again)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from streampanel.client import Client
from streampanel.ingest.synth import hls_lines, write_log
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from tests.conftest import MASTER_KEY
from tests.support.moto import MotoServer
from tests.support.server import LiveServer
from tests.support.usage_totals import usage_totals
from tests.uploads.conftest import Env, s3_client
from tests.uploads.processes import wait_for, worker_env

pytestmark = pytest.mark.slow

APPS = ["crash-live", "crash-vod"]


def log_lines(count: int, seed: int) -> list[str]:
    return list(
        hls_lines(start=datetime(2026, 3, 1), seconds=5 * 86400, count=count, apps=APPS, seed=seed)
    )


def clean_totals(log: Path, tmp_path: Path) -> dict:
    """The same log ingested once, cleanly, by the CLI into a store of its own."""
    data_dir = tmp_path / "clean"
    environment = {
        **os.environ,
        "STREAMPANEL_DATA_DIR": str(data_dir),
        "STREAMPANEL_MASTER_KEY": MASTER_KEY,
    }
    environment.pop("STREAMPANEL_DATABASE_URL", None)
    run = [sys.executable, "-m", "streampanel"]
    subprocess.run(
        [*run, "admin", "account", "create", "--cdn", "158", "--name", "c"],
        env=environment,
        check=True,
        capture_output=True,
    )
    for app in APPS:
        subprocess.run(
            [*run, "admin", "app", "create", app, "--cdn", "158"],
            env=environment,
            check=True,
            capture_output=True,
        )
    subprocess.run(
        [*run, "ingest", "access-log", "--server", "EDGE1", "--create-server", str(log)],
        env=environment,
        check=True,
        capture_output=True,
    )
    return usage_totals(data_dir / "streampanel.db")


def stored_parts(moto: MotoServer, bucket: str) -> list[int]:
    """Part numbers S3 has stored (not merely received) of the file's multipart upload."""
    uploads = {upload_id for upload_id, _ in moto.part_uploads()}
    parts: list[int] = []
    for upload_id in uploads:
        listing = s3_client(moto.url).list_parts(Bucket=bucket, Key="big.mp4", UploadId=upload_id)
        parts += [part["PartNumber"] for part in listing.get("Parts", [])]
    return parts


def test_sigkill_embedded_server_mid_upload_and_ingest(
    env: Env, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    if env.runtime.engine.dialect.name != "sqlite":
        pytest.skip("the embedded server is the SQLite deployment")
    with write_transaction(env.runtime.engine) as conn:
        for app in APPS:
            accounts.create_application(conn, env.creds.cdn, app)
    env.set_s3(moto.url, bucket)
    data = os.urandom(40 * 1024 * 1024)
    env.write("jb/big.mp4", data)
    moto.part_delay = 0.4

    log = tmp_path / "edge1.log"
    first, second = log_lines(40_000, seed=1), log_lines(40_000, seed=2)
    write_log(str(log), iter(first))
    environment = worker_env(env.settings)
    environment["STREAMPANEL_ACCESS_LOGS"] = json.dumps([{"server": "EDGE1", "path": str(log)}])
    environment["STREAMPANEL_WORKER_LEASE_SECONDS"] = "2"
    # One part at a time, so the crash falls between stored parts and one in flight.
    environment["STREAMPANEL_S3_PART_CONCURRENCY"] = "1"
    database = env.settings.data_dir / "streampanel.db"
    assert env.settings.resolved_database_url.endswith(str(database))

    server = LiveServer(environment, tmp_path / "serve-1.log")
    server.start()
    with Client(server.api_url, env.creds.cdn, env.creds.api_key, env.creds.secret) as client:
        job = client.aws_upload("sestore3/jb/big.mp4")["id"]
    wait_for(lambda: len(stored_parts(moto, bucket)) >= 2, timeout=60, what="2 parts stored")
    wait_for(lambda: usage_totals(database)["usage_daily"], timeout=60, what="ingest to begin")
    with log.open("a") as handle:  # the log grows while the server dies
        handle.writelines(second)
    server.process.kill()
    server.process.wait(10)
    stored_before = stored_parts(moto, bucket)
    assert env.job(job).state != "done"

    restarted = LiveServer(environment, tmp_path / "serve-2.log")
    restarted.start()
    try:
        with Client(
            restarted.api_url, env.creds.cdn, env.creds.api_key, env.creds.secret
        ) as client:
            status = wait_for(
                lambda: (s := client.aws_status(id=job))["state"] == "done" and s,
                timeout=120,
                what="the upload to finish after the restart",
            )
        expected = clean_totals(log, tmp_path)
        wait_for(
            lambda: usage_totals(database) == expected,
            timeout=60,
            what="the ingest to catch up exactly",
        )
        metrics = httpx.get(f"{restarted.url}/metrics", timeout=10).text
        parsed = re.search(r'streampanel_ingest_lines_total\{outcome="parsed"\} (\S+)', metrics)
        assert parsed and float(parsed.group(1)) > 0, metrics
    finally:
        restarted.stop()

    assert status["status"] == 200
    stored = s3_client(moto.url).get_object(Bucket=bucket, Key="big.mp4")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    # Parts stored before the crash were listed and kept, not sent again; at most the one
    # in flight at the kill went twice.
    sent = moto.part_uploads()
    assert all(count == 1 for (_, number), count in sent.items() if number in stored_before)
    assert sum(count > 1 for count in sent.values()) <= 1, sent
    assert usage_totals(database) == expected  # and nothing more came in twice

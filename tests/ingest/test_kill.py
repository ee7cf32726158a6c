"""SIGKILL the real ``streampanel ingest`` at several points (before its first commit,
then at 10%..90% of the file), start it again each time: the totals, unattributed
totals and rejects equal one clean run's.  Also: standard input, twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from streampanel.runtime import Runtime
from streampanel.store.tables import servers
from streampanel.store.tables.usage import ingest_sources
from tests.conftest import MakeAccount, server_env
from tests.ingest.helpers import totals, unattributed

pytestmark = pytest.mark.slow


def make_log(path: Path, count: int) -> None:
    rng = random.Random(7)
    with path.open("w") as out:
        for n in range(count):
            app = rng.choice(["alpha", "beta", "gamma", "unknown"])
            if n % 97 == 0:
                out.write(f"broken line {n}\n")
                continue
            hour = n * 48 // count
            out.write(
                f"10.1.{n % 200}.{n % 7} - - [{19 + hour // 24}/Mar/2024:{hour % 24:02d}:"
                f'{n % 60:02d}:00 +0100] "GET /{app}/s{n}.ts HTTP/1.1" 200 {rng.randint(1, 10**6)}'
                ' "-" "player"\n'
            )


def run(env: dict[str, str], server: str, log: str, **kwargs: object) -> subprocess.Popen[bytes]:
    output = Path(env["STREAMPANEL_DATA_DIR"]) / f"{server}.out"
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streampanel",
                "ingest",
                "access-log",
                "--server",
                server,
                "--create-server",
                "--block-mib",
                "0.004",
                "--json",
                log,
            ],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            **kwargs,  # type: ignore[arg-type]
        )


def offset(runtime: Runtime, server: str) -> int:
    with runtime.engine.connect() as conn:
        row = conn.execute(
            select(ingest_sources.c.offset)
            .join(servers, servers.c.id == ingest_sources.c.server_id)
            .where(servers.c.name == server)
        ).first()
    return int(row.offset) if row else -1


def test_killed_runs_end_like_one_clean_run(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha", "beta", "gamma"))
    log = tmp_path / "access.log"
    make_log(log, 6000)
    size = log.stat().st_size
    env = server_env(runtime.settings) | {"STREAMPANEL_DATA_DIR": str(tmp_path / "data")}

    clean = run(env, "CLEAN", str(log))
    assert clean.wait(120) == 0, (tmp_path / "data" / "CLEAN.out").read_text()

    kills = 0
    # First kill while starting up (before any commit), then at growing offsets.
    process = run(env, "KILLED", str(log))
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kills += 1
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
        process = run(env, "KILLED", str(log))
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if offset(runtime, "KILLED") >= fraction * size:
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.002)
        process.wait()
    final = run(env, "KILLED", str(log))
    assert final.wait(120) == 0
    assert kills >= 4, "the runs ended before they could be killed"

    assert totals(runtime, "KILLED") == totals(runtime, "CLEAN")
    assert sum(r for _, r in totals(runtime, "CLEAN").values()) > 4000
    by_server = unattributed(runtime)
    assert by_server  # the 'unknown' application's traffic is kept
    with runtime.engine.connect() as conn:
        sources = {
            r.name: r
            for r in conn.execute(
                select(servers.c.name, ingest_sources).join(
                    servers, servers.c.id == ingest_sources.c.server_id
                )
            )
        }
    assert sources["KILLED"].offset == sources["CLEAN"].offset == size
    assert sources["KILLED"].lines == sources["CLEAN"].lines == 6000
    assert sources["KILLED"].rejected == sources["CLEAN"].rejected == 62
    assert sources["KILLED"].unattributed == sources["CLEAN"].unattributed
    rejects = tmp_path / "data" / "rejects"
    clean_rejects = (rejects / "CLEAN" / f"{sources['CLEAN'].id}.rejects").read_bytes()
    killed_rejects = (rejects / "KILLED" / f"{sources['KILLED'].id}.rejects").read_bytes()
    assert killed_rejects == clean_rejects
    assert clean_rejects.count(b"\n") == 62


def test_standard_input_twice_counts_once(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, apps=("alpha", "beta", "gamma"))
    log = tmp_path / "access.log"
    make_log(log, 500)
    env = server_env(runtime.settings) | {"STREAMPANEL_DATA_DIR": str(tmp_path / "data")}
    for _ in range(2):
        with log.open("rb") as stdin:
            process = run(env, "PIPE", "-", stdin=stdin)
            assert process.wait(60) == 0, (tmp_path / "data" / "PIPE.out").read_text()
    file_run = run(env, "FILE", str(log))
    assert file_run.wait(60) == 0
    assert totals(runtime, "PIPE") == totals(runtime, "FILE")

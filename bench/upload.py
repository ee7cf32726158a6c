"""Upload benchmark: one file to the same local S3 endpoint three ways, in one run.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--repeat 3] [--part-concurrency 10]

A ``moto_server`` process on 127.0.0.1 is the S3 endpoint for all three:

- the streampanel worker (``streampanel worker --burst``, a real process on a fresh SQLite
  store with one queued ``aws.upload`` job); peak RSS from the kernel's accounting of that
  process (``wait4``);
- ``aws s3 cp`` (Debian's awscli, its default 8 MiB parts and 10 concurrent requests);
- plain boto3 ``upload_file`` (s3transfer defaults) in a fresh Python process.

Two figures per uploader: the whole process from start to exit (each program's start-up
included: ``streampanel worker`` imports only what the worker uses, ~0.4 s), and the
transfer alone as the program's own clock measures it (worker: claim to done, from its log;
boto3: around ``upload_file``; awscli has no such figure).  Rounds rotate the order, after
one warm-up upload; the best of ``--repeat`` rounds is shown.  Each uploaded object's size
is checked, then it is deleted so the endpoint's memory stays flat.  Goal: the worker within
1.1x of the faster reference, peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import boto3  # noqa: E402
from _common import bench_env, free_port, print_table, temp_dir  # noqa: E402

from streampanel.runtime import open_runtime  # noqa: E402
from streampanel.settings import Settings  # noqa: E402
from streampanel.store import accounts  # noqa: E402
from streampanel.store import uploads as store  # noqa: E402
from streampanel.store.engine import write_transaction  # noqa: E402

BUCKET = "bench-uploads"
KEY_ID, SECRET = "bench-access", "bench-secret"
MiB = 1024 * 1024

BOTO3_SCRIPT = """
import sys, time, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[4], aws_secret_access_key=sys.argv[5])
started = time.perf_counter()
s3.upload_file(sys.argv[2], sys.argv[6], sys.argv[3])
print(f"transfer {time.perf_counter() - started:.3f}")
"""
TRANSFER_LINE = re.compile(r"(?:job \d+: done in|^transfer) ([0-9.]+)", re.M)


@dataclass
class Run:
    seconds: float
    transfer: float | None
    rss_mb: float


def _aws_cli() -> str:
    for candidate in ("/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise SystemExit("awscli not found: apt-get install awscli")


def _timed(args: list[str], env: dict[str, str], log: Path) -> Run:
    """One child process run to completion: wall seconds, its own transfer figure, peak RSS."""
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:3]} failed:\n{text[-3000:]}")
    found = TRANSFER_LINE.search(text)
    return Run(elapsed, float(found.group(1)) if found else None, usage.ru_maxrss / 1024)


def _make_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(4 * MiB)
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            handle.write(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))


def _queue_job(env: dict[str, str], root: Path, endpoint: str) -> None:
    settings = Settings(
        data_dir=Path(env["STREAMPANEL_DATA_DIR"]),
        master_key=env["STREAMPANEL_MASTER_KEY"],
        storage_roots=[root],
    )
    runtime = open_runtime(settings)
    try:
        with write_transaction(runtime.engine) as conn:
            if accounts.get_account(conn, 158) is None:
                accounts.create_account(conn, 158, "bench")
                accounts.create_storage_user(conn, 158, "bench")
                store.set_destination(
                    conn,
                    runtime.box,
                    158,
                    "aws",
                    {"bucket": BUCKET, "region": "us-east-1", "endpoint_url": endpoint},
                    {"access_key": KEY_ID, "secret_key": SECRET},
                )
            store.create_job(
                conn,
                {
                    "account_id": 158,
                    "kind": "aws",
                    "path": f"{root.name}/bench/movie.mp4",
                    "destination_path": "worker/movie.mp4",
                    "bucket": BUCKET,
                    "acl": "private",
                    "bytes_total": (root / "bench" / "movie.mp4").stat().st_size,
                },
            )
    finally:
        runtime.close()


def _check_and_delete(s3: Any, key: str, size: int) -> None:
    head = s3.head_object(Bucket=BUCKET, Key=key)
    if head["ContentLength"] != size:
        raise SystemExit(f"{key}: {head['ContentLength']} bytes stored, expected {size}")
    s3.delete_object(Bucket=BUCKET, Key=key)


def _wait_for_endpoint(s3: Any) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            s3.create_bucket(Bucket=BUCKET)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part-concurrency", type=int, default=10)
    options = parser.parse_args()
    size = options.size_mib * MiB

    with temp_dir("streampanel-bench-upload-") as work:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        with (work / "moto.log").open("wb") as moto_log:
            moto = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=moto_log,
                stderr=subprocess.STDOUT,
            )
        try:
            s3 = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=KEY_ID,
                aws_secret_access_key=SECRET,
            )
            _wait_for_endpoint(s3)
            root = work / "sestore1"
            source = root / "bench" / "movie.mp4"
            _make_file(source, size)
            env = {
                **bench_env(work / "data"),
                "STREAMPANEL_LOG_LEVEL": "info",
                "STREAMPANEL_STORAGE_ROOTS": f'["{root}"]',
                "STREAMPANEL_S3_PART_CONCURRENCY": str(options.part_concurrency),
                "STREAMPANEL_WORKER_POLL_INTERVAL": "0.05",
                "AWS_ACCESS_KEY_ID": KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET,
                "AWS_DEFAULT_REGION": "us-east-1",
            }

            def worker() -> Run:
                _queue_job(env, root, endpoint)
                run = _timed(
                    [sys.executable, "-m", "streampanel", "worker", "--burst"],
                    env,
                    work / "worker.log",
                )
                _check_and_delete(s3, "worker/movie.mp4", size)
                return run

            def cli() -> Run:
                run = _timed(
                    [
                        _aws_cli(),
                        "s3",
                        "cp",
                        "--only-show-errors",
                        "--endpoint-url",
                        endpoint,
                        str(source),
                        f"s3://{BUCKET}/cli/movie.mp4",
                    ],
                    env,
                    work / "cli.log",
                )
                _check_and_delete(s3, "cli/movie.mp4", size)
                return run

            def plain_boto3() -> Run:
                run = _timed(
                    [
                        sys.executable,
                        "-c",
                        BOTO3_SCRIPT,
                        endpoint,
                        str(source),
                        "boto3/movie.mp4",
                        KEY_ID,
                        SECRET,
                        BUCKET,
                    ],
                    env,
                    work / "boto3.log",
                )
                _check_and_delete(s3, "boto3/movie.mp4", size)
                return run

            runners: dict[str, Callable[[], Run]] = {
                "worker": worker,
                "aws s3 cp": cli,
                "boto3": plain_boto3,
            }
            # Warm-up: moto's first large upload pays for growing its heap, which would
            # otherwise be charged to whichever uploader went first.
            plain_boto3()
            results: dict[str, list[Run]] = {name: [] for name in runners}
            for round_number in range(options.repeat):
                names = list(runners)
                names = names[round_number % 3 :] + names[: round_number % 3]
                for name in names:
                    results[name].append(runners[name]())
        finally:
            moto.terminate()
            moto.wait(10)

    _report(results, options.size_mib, options.repeat)


def _report(results: dict[str, list[Run]], size_mib: int, repeat: int) -> None:
    best = {name: min(r.seconds for r in runs) for name, runs in results.items()}
    transfer = {
        name: min(r.transfer for r in runs if r.transfer is not None)
        for name, runs in results.items()
        if any(r.transfer is not None for r in runs)
    }
    reference = min(best["aws s3 cp"], best["boto3"])
    rows = []
    for name in results:
        t = transfer.get(name)
        rows.append(
            [
                name,
                f"{best[name]:.2f}",
                f"{best[name] / reference:.2f}x",
                f"{t:.2f}" if t is not None else "-",
                f"{size_mib / t:.0f}" if t is not None else "-",
                f"{t / transfer['boto3']:.2f}x" if t is not None else "-",
            ]
        )
    print_table(
        f"Upload of {size_mib} MiB to a local moto_server (best of {repeat})",
        ["uploader", "process s", "vs faster", "transfer s", "MiB/s", "vs boto3"],
        rows,
    )
    rss = max(r.rss_mb for r in results["worker"])
    print(f"\nworker peak RSS: {rss:.0f} MB (goal < 200 MB)")
    ratio = best["worker"] / reference
    print(
        f"worker process / faster reference = {ratio:.2f}x; "
        f"worker transfer / boto3 transfer = {transfer['worker'] / transfer['boto3']:.2f}x "
        "(goal 1.1x)"
    )


if __name__ == "__main__":
    main()

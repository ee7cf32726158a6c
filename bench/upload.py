"""Upload benchmark: one file to the same local S3 endpoint three ways, in one run.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--repeat 1] [--part-concurrency 10]

A ``moto_server`` process on 127.0.0.1 is the S3 endpoint for all three:

- the streampanel worker (``streampanel worker --burst``, a real process on a fresh SQLite
  store with one queued ``aws.upload`` job), timed from start to exit, peak RSS from the
  kernel's accounting of that process (``wait4``);
- ``aws s3 cp`` (Debian's awscli, its default 8 MiB parts and 10 concurrent requests);
- plain boto3 ``upload_file`` (s3transfer defaults) in a fresh Python process.

Every run is a whole process from start to exit, so each figure includes its program's
start-up.  Each uploaded object's size is checked, then the object is deleted so the
endpoint's memory stays flat.  Goal: the worker within 1.1x of the faster reference, peak
RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

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
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[4], aws_secret_access_key=sys.argv[5])
s3.upload_file(sys.argv[2], sys.argv[6], sys.argv[3])
"""


def _aws_cli() -> str:
    for candidate in ("/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise SystemExit("awscli not found: apt-get install awscli")


def _timed(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process run to completion."""
    with log.open("ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{args[:3]} failed ({process.returncode}):\n{log.read_text()[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024


def _make_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(4 * MiB)
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            handle.write(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))


def _queue_job(env: dict[str, str], root: Path, endpoint: str, relative: str) -> int:
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
            size = (root / "bench" / relative).stat().st_size
            return store.create_job(
                conn,
                {
                    "account_id": 158,
                    "kind": "aws",
                    "path": f"{root.name}/bench/{relative}",
                    "destination_path": f"worker/{relative}",
                    "bucket": BUCKET,
                    "acl": "private",
                    "bytes_total": size,
                },
            )
    finally:
        runtime.close()


def _check_and_delete(s3: object, key: str, size: int) -> None:
    head = s3.head_object(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]
    if head["ContentLength"] != size:
        raise SystemExit(f"{key}: {head['ContentLength']} bytes stored, expected {size}")
    s3.delete_object(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]


def _run_worker(
    env: dict[str, str],
    root: Path,
    endpoint: str,
    work: Path,
    size: int,
    s3: object,
    rss: list[float],
) -> float:
    _queue_job(env, root, endpoint, "movie.mp4")
    seconds, peak = _timed(
        [sys.executable, "-m", "streampanel", "worker", "--burst"], env, work / "worker.log"
    )
    rss.append(peak)
    _check_and_delete(s3, "worker/movie.mp4", size)
    return seconds


def _run_cli(
    env: dict[str, str], endpoint: str, source: Path, work: Path, size: int, s3: object
) -> float:
    seconds, _ = _timed(
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
    return seconds


def _run_boto3(
    env: dict[str, str], endpoint: str, source: Path, work: Path, size: int, s3: object
) -> float:
    seconds, _ = _timed(
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
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--part-concurrency", type=int, default=10)
    options = parser.parse_args()
    size = options.size_mib * MiB

    with temp_dir("streampanel-bench-upload-") as work:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        moto_log = (work / "moto.log").open("wb")
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
            deadline = time.monotonic() + 30
            while True:
                try:
                    s3.create_bucket(Bucket=BUCKET)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            root = work / "sestore1"
            source = root / "bench" / "movie.mp4"
            _make_file(source, size)

            env = bench_env(work / "data")
            env.update(
                {
                    "STREAMPANEL_STORAGE_ROOTS": f'["{root}"]',
                    "STREAMPANEL_S3_PART_CONCURRENCY": str(options.part_concurrency),
                    "STREAMPANEL_WORKER_POLL_INTERVAL": "0.05",
                    "AWS_ACCESS_KEY_ID": KEY_ID,
                    "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            )
            results: dict[str, list[float]] = {"worker": [], "aws s3 cp": [], "boto3": []}
            rss: list[float] = []
            runners = {
                "worker": lambda: _run_worker(env, root, endpoint, work, size, s3, rss),
                "aws s3 cp": lambda: _run_cli(env, endpoint, source, work, size, s3),
                "boto3": lambda: _run_boto3(env, endpoint, source, work, size, s3),
            }
            # A warm-up upload first: moto's first large upload pays for growing its heap,
            # which would otherwise be charged to whichever uploader happens to run first.
            _run_boto3(env, endpoint, source, work, size, s3)
            for round_number in range(options.repeat):
                names = list(runners)
                # Rotate the order each round so no uploader always goes first.
                names = names[round_number % 3 :] + names[: round_number % 3]
                for name in names:
                    results[name].append(runners[name]())
        finally:
            moto.terminate()
            moto.wait(10)
            moto_log.close()

    best = {name: min(times) for name, times in results.items()}
    reference = min(best["aws s3 cp"], best["boto3"])
    rows = [
        [
            name,
            f"{best[name]:.2f}",
            f"{size / MiB / best[name]:.0f}",
            f"{best[name] / reference:.2f}x",
        ]
        for name in results
    ]
    print_table(
        f"Upload of {options.size_mib} MiB to a local moto_server (best of {options.repeat})",
        ["uploader", "seconds", "MiB/s", "vs faster reference"],
        rows,
    )
    print(f"\nworker peak RSS: {max(rss):.0f} MB (goal < 200 MB)")
    verdict = "meets" if best["worker"] <= 1.1 * reference else "misses"
    print(
        f"worker / faster reference = {best['worker'] / reference:.2f}x ({verdict} the 1.1x goal)"
    )


if __name__ == "__main__":
    main()

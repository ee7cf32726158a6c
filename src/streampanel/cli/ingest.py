"""``streampanel ingest``: access logs into per-day usage totals (``video.servers``)."""

from __future__ import annotations

import difflib
import gc
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from streampanel.cli import longrun
from streampanel.cli.memory import keep_freed_blocks
from streampanel.cli.output import console, err_console, fail, print_json, print_rows, user_errors
from streampanel.cli.store import open_store
from streampanel.ingest.format_names import FORMATS, NGINX_COMBINED
from streampanel.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from streampanel.ingest.pipeline import FileReport

DEFAULT_BLOCK_MIB = 24.0

app = typer.Typer(help="Ingest access logs into usage totals.", no_args_is_help=True)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM end the run once the blocks already read are committed (never inside
    a commit)."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _row(report: FileReport) -> dict[str, Any]:
    rate = int(report.lines / report.seconds) if report.seconds > 0 else 0
    return {
        "file": report.path,
        "status": report.status,
        "lines": report.lines,
        "requests": report.requests,
        "bytes": report.bytes,
        "rejected": report.rejected,
        "unattributed": report.unattributed_requests,
        "lines/s": rate,
    }


def _require_server(engine: Engine, name: str) -> None:
    """Refuse a server name the store does not know: a typo would otherwise become a new
    server, and its traffic would be billed under it without a word."""
    from streampanel.store import accounts

    with engine.connect() as conn:
        known = [row["name"] for row in accounts.list_servers(conn)]
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    fail(
        f"unknown server {name!r}{guess}: create it with `streampanel admin server create "
        f"{name}`, or pass --create-server to create it with this run"
    )


def _all_rejected(reports: list[FileReport]) -> list[FileReport]:
    """Files that had lines and not one of them was read: most likely the wrong --format."""
    return [r for r in reports if r.lines > 0 and r.rejected == r.lines]


def _summary(reports: list[FileReport], as_json: bool) -> None:
    rows = [_row(r) for r in reports]
    if as_json:
        print_json(
            [
                row
                | {
                    "unattributed_bytes": r.unattributed_bytes,
                    "unfinished_bytes": r.unfinished,
                    "rejects_file": str(r.rejects_path) if r.rejected else None,
                    "days": sorted(d.isoformat() for d in r.days),
                }
                for row, r in zip(rows, reports, strict=True)
            ]
        )
        return
    print_rows(rows, title="ingest summary")
    for r in reports:
        if r.rejected:
            console.print(f"{r.rejected} rejected lines of {r.path} kept in {r.rejects_path}")
        if r.unattributed_requests:
            console.print(
                f"{r.unattributed_requests} requests ({r.unattributed_bytes} bytes) of {r.path} "
                "name no known application: kept as unattributed totals"
            )
        if r.unfinished:
            console.print(
                f"{r.path}: the last {r.unfinished} bytes are an unfinished line, left for "
                "the next run"
            )


@app.command("access-log")
def access_log(
    files: list[str] = typer.Argument(..., help="Log files (plain or gzip'd), or - for stdin."),
    server: str = typer.Option(
        ...,
        "--server",
        help="The server that wrote the log (known to the store, or see --create-server).",
    ),
    fmt: str = typer.Option(NGINX_COMBINED, "--format", help=f"Log format: {', '.join(FORMATS)}."),
    follow: bool = typer.Option(
        False, "--follow", help="Keep reading the file as it grows, across rotations."
    ),
    rejects_dir: Path = typer.Option(
        None, "--rejects-dir", help="Where rejected lines are kept (default: DATA_DIR/rejects)."
    ),
    block_mib: float = typer.Option(
        DEFAULT_BLOCK_MIB, "--block-mib", help="Block size in MiB (one commit each)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    create_server: bool = typer.Option(
        False,
        "--create-server",
        help="Create the --server if the store does not know it yet (otherwise it is refused).",
    ),
    metrics_port: int | None = longrun.metrics_port_option(),
) -> None:
    """Add a log's traffic to the per-day usage totals, exactly once per line.

    With --follow it runs until stopped and rides out an unreachable store, at start and
    later, resuming from the last committed block."""
    from streampanel.ingest.blocks import DEFAULT_BLOCK_BYTES
    from streampanel.ingest.pipeline import ConcurrentIngest, Ingester
    from streampanel.ingest.service import follow_log, metered

    assert DEFAULT_BLOCK_MIB * (1 << 20) == DEFAULT_BLOCK_BYTES
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if follow and (len(files) != 1 or files[0] == "-"):
        fail("--follow takes exactly one file (not standard input)")
    metrics = None
    with user_errors():
        if follow:
            started = longrun.start(metrics_port, pool_size=2)
            settings, runtime, metrics = started.settings, started.runtime, started.metrics
        else:
            settings = Settings()
            runtime = open_store(settings)
    if not create_server:
        try:
            _require_server(runtime.engine, server)
        except typer.Exit:
            runtime.close()
            raise
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[lines]:,} lines  {task.fields[rate]:,.0f} lines/s"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    counted = metered(metrics) if metrics is not None else None

    def on_progress(report: FileReport, done: int, total: int) -> None:
        if counted is not None:
            counted(report, done, total)
        task = tasks.get(report.path)
        if task is None:
            task = tasks[report.path] = progress.add_task(
                report.path, total=total or None, lines=0, rate=0.0
            )
        elapsed = progress.tasks[task].elapsed or 0.0
        rate = report.lines / elapsed if elapsed > 0 else 0.0
        progress.update(task, completed=done, lines=report.lines, rate=rate)

    reports: list[FileReport] = []
    # What start-up made (modules, settings, the store) lives as long as the process: kept
    # out of the collector's full passes, each of which cost ~70 ms scanning it.
    gc.freeze()
    keep_freed_blocks()
    try:
        with user_errors(), _stop_on_signals() as stop, progress:

            def make_ingester() -> Ingester:
                return Ingester(
                    runtime.engine,
                    server=server,
                    fmt=fmt,
                    app_pattern=settings.ingest_app_pattern,
                    rejects_dir=rejects_dir or settings.data_dir / "rejects",
                    block_bytes=max(1024, int(block_mib * (1 << 20))),
                    progress=on_progress,
                )

            if follow:
                reports = follow_log(make_ingester, files[0], stop)
            else:
                ingester = make_ingester()
                for path in files:
                    if stop.is_set():
                        break
                    reports.append(ingester.ingest(path, stop))
    except ConcurrentIngest as exc:
        fail(str(exc))
    finally:
        runtime.close()
    _summary(reports, as_json)
    hopeless = _all_rejected(reports)
    if hopeless:
        fail(
            f"every line of {', '.join(r.path for r in hopeless)} was rejected as {fmt}: choose "
            f"the log's format with --format {'|'.join(FORMATS)} (the rejected lines are "
            f"kept in {hopeless[0].rejects_path})"
        )

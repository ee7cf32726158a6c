"""``streampanel worker``: run the upload worker (S3 and YouTube jobs)."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from streampanel.cli import longrun
from streampanel.cli.output import console, user_errors
from streampanel.uploads.worker import Worker

# Connections beside the jobs' own: the lease heartbeat and a metrics scrape.
_EXTRA_CONNECTIONS = 2


def worker(
    concurrency: int = typer.Option(
        1, "--concurrency", "-c", min=1, help="Jobs run at the same time."
    ),
    burst: bool = typer.Option(
        False, "--burst", help="Exit when no job is left instead of waiting for more."
    ),
    metrics_port: int | None = longrun.metrics_port_option(),
) -> None:
    """Claim upload jobs from the store and run them until SIGTERM (or, with --burst, done).

    An unreachable store is waited for, at start and whenever it goes away."""
    with user_errors():
        started = longrun.start(metrics_port, pool_size=concurrency + _EXTRA_CONNECTIONS)
    runtime = started.runtime
    upload_worker = Worker(
        started.settings,
        runtime.engine,
        runtime.box,
        concurrency=concurrency,
        burst=burst,
        metrics=started.metrics,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        console.print(f"[dim]worker:[/] {signal.Signals(signum).name}: finishing in-flight parts")
        upload_worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        upload_worker.run()
    finally:
        runtime.close()

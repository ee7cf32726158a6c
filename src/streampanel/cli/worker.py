"""``streampanel worker``: run the upload worker (S3 and YouTube jobs)."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from streampanel.cli.logs import configure_logging
from streampanel.cli.output import console, user_errors
from streampanel.cli.store import open_store
from streampanel.settings import Settings
from streampanel.uploads.worker import Worker


def worker(
    concurrency: int = typer.Option(
        1, "--concurrency", "-c", min=1, help="Jobs run at the same time."
    ),
    burst: bool = typer.Option(
        False, "--burst", help="Exit when no job is left instead of waiting for more."
    ),
) -> None:
    """Claim upload jobs from the store and run them until SIGTERM (or, with --burst, done)."""
    with user_errors():
        settings = Settings()
        configure_logging(settings.log_level)
        runtime = open_store(settings)
    upload_worker = Worker(
        settings, runtime.engine, runtime.box, concurrency=concurrency, burst=burst
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

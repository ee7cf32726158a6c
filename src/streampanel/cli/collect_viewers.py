"""``streampanel collect viewers`` (nginx-rtmp /stat) and ``streampanel collect hls`` (logs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from streampanel.cli import longrun
from streampanel.cli.output import console, fail, user_errors
from streampanel.cli.store import open_store
from streampanel.ingest.format_names import NGINX_COMBINED, REQUEST_FORMATS
from streampanel.settings import Settings
from streampanel.viewers.collector import RtmpCollector
from streampanel.viewers.hls_collector import HlsCollector
from streampanel.viewers.stat import DEFAULT_VHOST

# A collector's thread storing a step, and a metrics scrape.
_POOL_SIZE = 2


def _run_forever(loop: object) -> None:
    try:
        asyncio.run(loop)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        console.print("stopped")


def viewers(
    server: str = typer.Option(..., "--server", help="Server name (created on first sight)."),
    nginx_rtmp: str = typer.Option(
        ..., "--nginx-rtmp", help="URL of the nginx-rtmp statistics page, e.g. http://host/stat"
    ),
    interval: float = typer.Option(60.0, "--interval", help="Seconds between polls."),
    once: bool = typer.Option(False, "--once", help="Poll once and exit."),
    vhost: str = typer.Option(DEFAULT_VHOST, "--vhost", help="Vhost name stored with the rows."),
    metrics_port: int | None = longrun.metrics_port_option(),
) -> None:
    """Poll nginx-rtmp's /stat and store live viewers per stream (players only).

    Polling (without --once) rides out an unreachable store, at start and later."""
    if once:
        with user_errors():
            runtime = open_store(Settings())
        try:
            collector = RtmpCollector(runtime.engine, server, nginx_rtmp, vhost, interval)
            try:
                result = collector.poll_once()
            except Exception as exc:
                fail(f"poll of {nginx_rtmp} failed: {exc.__class__.__name__}: {exc}")
        finally:
            runtime.close()
        console.print(
            f"{server}: {result.streams} streams, {result.viewers} viewers "
            f"({result.stored.rows} rows stored, {result.stored.closed} streams ended)"
        )
        return
    with user_errors():
        started = longrun.start(metrics_port, pool_size=_POOL_SIZE)
    try:
        collector = RtmpCollector(
            started.runtime.engine,
            server,
            nginx_rtmp,
            vhost,
            interval,
            metrics=started.metrics,
        )
        console.print(f"collecting {nginx_rtmp} as {server} every {interval:g} s (Ctrl-C stops)")
        _run_forever(collector.run())
    finally:
        started.runtime.close()


def hls(
    server: str = typer.Option(..., "--server", help="Server name (created on first sight)."),
    log: Path = typer.Option(..., "--log", help="Access log of the server's HLS requests."),
    log_format: str = typer.Option(
        NGINX_COMBINED, "--format", help=f"Log format: {' or '.join(REQUEST_FORMATS)}."
    ),
    window: int = typer.Option(60, "--window", help="Seconds a fetch keeps a viewer counted."),
    interval: int = typer.Option(60, "--interval", help="Seconds between snapshots."),
    once: bool = typer.Option(
        False, "--once", help="Replay the whole log (snapshots at its times) and exit."
    ),
    vhost: str = typer.Option(DEFAULT_VHOST, "--vhost"),
    path_pattern: str = typer.Option(
        None,
        "--path-pattern",
        help="Regex with named groups app and stream, for URL layouts the default misses.",
    ),
    metrics_port: int | None = longrun.metrics_port_option(),
) -> None:
    """Derive HLS viewers (distinct clients per stream in a sliding window) from an access log.

    Following (without --once) rides out an unreachable store, at start and later: the
    snapshots it could not store are stored when the store is back."""
    if once:
        with user_errors():
            runtime = open_store(Settings())
        try:
            with user_errors():
                collector = HlsCollector(
                    runtime.engine, server, log, log_format, vhost, window, interval, path_pattern
                )
                snapshots, stored = collector.replay()
        finally:
            runtime.close()
        stats = collector.stats
        console.print(
            f"{server}: {stats.lines} lines, {stats.hls} HLS requests, {stats.unparsed} "
            f"unparsed; {snapshots} snapshots, {stored.rows} rows stored"
        )
        return
    with user_errors():
        started = longrun.start(metrics_port, pool_size=_POOL_SIZE)
    try:
        with user_errors():
            collector = HlsCollector(
                started.runtime.engine,
                server,
                log,
                log_format,
                vhost,
                window,
                interval,
                path_pattern,
                metrics=started.metrics,
            )
        console.print(f"following {log} as {server}, a snapshot every {interval} s (Ctrl-C stops)")
        _run_forever(collector.run())
    finally:
        started.runtime.close()

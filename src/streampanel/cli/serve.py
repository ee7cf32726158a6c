"""``streampanel serve`` and ``streampanel demo``."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from streampanel.cli.logs import configure_logging
from streampanel.cli.output import console, err_console, fail, user_errors
from streampanel.cli.store import open_store
from streampanel.settings import Settings
from streampanel.system import build_app, store_pool_size


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_warning(host: str) -> str | None:
    if _is_loopback(host):
        return None
    return (
        f"demo mode on {host}: the demo account uses the PUBLIC example credentials from the "
        "API documentation. Anyone who can reach this address can use it. Listen on "
        "127.0.0.1 or drop --demo."
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else happens: a busy port is reported
    at once (not after the store is migrated and the demo data rebuilt), and uvicorn is
    handed this socket, so no other process can take the port in between."""
    # As uvicorn binds: IPv6 for an address with a colon, SO_REUSEADDR for quick restarts.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"cannot listen on {host}:{port}: the port is already in use (another "
                "streampanel, or another program); stop it or choose another with --port"
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)  # for the worker processes of --workers
    return sock


def serve(
    host: str = typer.Option(None, "--host", help="Listen address (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Listen port (default 8080)."),
    demo: bool = typer.Option(False, "--demo", help="Create and fill the demo account first."),
    workers: int = typer.Option(1, "--workers", help="API processes (uvicorn workers)."),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        help="Serve /metrics on METRICS_HOST:PORT instead of the API's address (0: on the "
        "API's address; default: the metrics_port setting).",
    ),
) -> None:
    """Run the API, the upload worker and the periodic collectors in one process.

    An unreachable store is waited for, at start and whenever it goes away."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if demo:
        overrides["demo"] = True
    if metrics_port is not None:
        overrides["metrics_port"] = metrics_port
    with user_errors():
        settings = Settings(**overrides)  # type: ignore[arg-type]
        configure_logging(settings.log_level)
    if settings.metrics_port and workers > 1:
        # Each worker process has its own metrics, and one port serves one process.
        fail(
            "a metrics port serves one process: run one `streampanel serve` per port "
            "(as deploy/ does) rather than --workers with metrics_port"
        )
    sock = listening_socket(settings.host, settings.port)
    with user_errors():
        runtime = open_store(settings, wait_for_store=True, pool_size=store_pool_size(settings))
    if settings.demo:
        from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET, setup_demo

        setup_demo(runtime, lambda step: console.print(f"[dim]demo:[/] {step}"))
        warning = demo_warning(settings.host)
        if warning:
            err_console.print(f"[bold yellow]WARNING:[/] {warning}")
        console.print(
            f"demo account ready: cdn={DEMO_CDN} api_key={DEMO_API_KEY} secret={DEMO_SECRET}"
        )
    console.print(f"streampanel listening on http://{settings.host}:{settings.port}/stable/")
    # The app is built here, on the open store, or by each worker process of --workers
    # from the environment.
    app = build_app(runtime) if workers == 1 else "streampanel.system:app_from_environment"
    if workers > 1:
        runtime.close()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        factory=workers > 1,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        # Whose X-Forwarded-For/-Proto to believe: only the proxies the settings name (none
        # by default; uvicorn alone would believe 127.0.0.1, i.e. any local client).
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )
    if workers > 1:
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    if not server.started:
        raise typer.Exit(3)  # the app failed to start (uvicorn.run's exit status)


def demo(
    host: str = typer.Option(None, "--host"),
    port: int = typer.Option(None, "--port"),
) -> None:
    """Serve with the demo account (same as ``serve --demo``)."""
    serve(host=host, port=port, demo=True, workers=1)

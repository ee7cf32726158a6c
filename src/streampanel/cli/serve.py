"""``streampanel serve`` and ``streampanel demo``."""

from __future__ import annotations

import ipaddress

import typer
import uvicorn

from streampanel.cli.logs import configure_logging
from streampanel.cli.output import console, err_console, user_errors
from streampanel.runtime import open_runtime
from streampanel.settings import Settings
from streampanel.system import build_app


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


def serve(
    host: str = typer.Option(None, "--host", help="Listen address (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Listen port (default 8080)."),
    demo: bool = typer.Option(False, "--demo", help="Create and fill the demo account first."),
    workers: int = typer.Option(1, "--workers", help="API processes (uvicorn workers)."),
) -> None:
    """Run the API, the upload worker and the periodic collectors in one process."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if demo:
        overrides["demo"] = True
    with user_errors():
        settings = Settings(**overrides)  # type: ignore[arg-type]
        configure_logging(settings.log_level)
        runtime = open_runtime(settings)
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
    if workers > 1:
        runtime.close()
        uvicorn.run(
            "streampanel.system:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level=settings.log_level,
            access_log=False,
        )
        return
    app = build_app(runtime)
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False
    )


def demo(
    host: str = typer.Option(None, "--host"),
    port: int = typer.Option(None, "--port"),
) -> None:
    """Serve with the demo account (same as ``serve --demo``)."""
    serve(host=host, port=port, demo=True, workers=1)

"""What every long-running command (``worker``, the collectors, ``ingest --follow``) does at
start: log lines to stderr, its store waited for rather than failed on, and its metrics on
a port of their own when asked (``--metrics-port`` or the ``metrics_port`` setting)."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from streampanel.cli.logs import configure_logging
from streampanel.cli.output import fail
from streampanel.cli.store import open_store
from streampanel.metrics import Metrics
from streampanel.runtime import Runtime
from streampanel.settings import Settings

METRICS_PORT_HELP = (
    "Serve Prometheus metrics at http://METRICS_HOST:PORT/metrics (0: none; "
    "default: the metrics_port setting)."
)


def metrics_port_option() -> int | None:
    """The ``--metrics-port`` option (a fresh one per command)."""
    option: int | None = typer.Option(None, "--metrics-port", help=METRICS_PORT_HELP)
    return option


@dataclass
class LongRunning:
    settings: Settings
    runtime: Runtime
    metrics: Metrics


def start(metrics_port: int | None, *, pool_size: int) -> LongRunning:
    """Settings (``metrics_port`` overriding the setting), logging, the store (waited for
    while unreachable, ``pool_size`` connections) and the metrics, served when a port is set.

    Call it inside ``user_errors()``.
    """
    overrides = {} if metrics_port is None else {"metrics_port": metrics_port}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level)
    runtime = open_store(settings, wait_for_store=True, pool_size=pool_size)
    metrics = Metrics(runtime.engine)
    if settings.metrics_port:
        try:
            metrics.serve(settings.metrics_host, settings.metrics_port)
        except OSError as exc:
            runtime.close()
            fail(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
                f"{exc.strerror or exc}"
            )
    return LongRunning(settings, runtime, metrics)

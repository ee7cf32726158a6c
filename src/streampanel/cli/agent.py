"""``streampanel agent``: the edge agent (``streampanel.agent``) and its status."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import typer

from streampanel.agent.config import DEFAULT_CONFIG, ConfigError, load_config
from streampanel.cli.memory import keep_freed_blocks
from streampanel.cli.output import fail, print_json, print_record, print_rows

app = typer.Typer(
    help="The edge agent: this server's usage, viewers and storage to the centre.",
    invoke_without_command=True,
)

_CONFIG_HELP = "The agent's TOML file."


@app.callback()
def run(
    ctx: typer.Context,
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", help=_CONFIG_HELP),
    once: bool = typer.Option(
        False,
        "--once",
        help="Read every access log to its end, measure the disk, deliver it all and exit.",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Run the agent (until SIGINT/SIGTERM, which stop it once the block in flight is
    delivered or spooled)."""
    if ctx.invoked_subcommand is not None:
        return
    from streampanel.agent.runner import Agent
    from streampanel.cli.logs import configure_logging

    configure_logging(log_level)
    # httpx logs every request at INFO: the agent logs changes of state, not requests.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = load_config(config)
        agent = Agent(settings)
    except (ConfigError, ValueError, OSError) as exc:
        fail(str(exc))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # As for ingest: start-up objects out of the collector's full passes, and freed block
    # memory kept for the next blocks.
    gc.freeze()
    keep_freed_blocks()
    delivered = agent.run(stop, once=once)
    if once and not delivered:
        fail("stopped before everything read was delivered (it stays in the spool)")


@app.command("status")
def status(
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", help=_CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """How far behind the centre each log is (bytes and seconds), and the centre's state.

    Exits 1 when no agent with this configuration is running."""
    from streampanel.agent.status import is_running, read_status

    try:
        settings = load_config(config)
    except ConfigError as exc:
        fail(str(exc))
    found = read_status(settings.state_dir)
    if found is None:
        fail(f"no agent status in {settings.state_dir}: is the agent running?")
    age = time.time() - float(found["written"])
    running = is_running(found)
    if as_json:
        print_json(found | {"running": running, "age_seconds": round(age, 1)})
    else:
        _print_status(found, running, age)
    if not running:
        raise typer.Exit(1)


def _print_status(found: dict[str, Any], running: bool, age: float) -> None:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(found["centre_since"])))
    centre = f"{found['centre']} since {since}"
    if found["centre_detail"]:
        centre += f" ({found['centre_detail']})"
    print_record(
        {
            "server": found["server"],
            "agent": f"running (pid {found['pid']})"
            if running
            else f"NOT RUNNING (its last status is {age:.0f} s old)",
            "centre": centre,
            "spooled blocks": found["spooled_blocks"],
            "spool size": found["spool_bytes"],
            "viewer snapshots dropped": found["viewer_snapshots_dropped"],
        },
        "agent",
    )
    print_rows(
        [
            {
                "log": lag["log"],
                "file": lag["path"] + (" (rotated)" if lag["rotated"] else ""),
                "read": lag["read"],
                "acknowledged": lag["acknowledged"],
                "size": lag["size"],
                "lag bytes": lag["lag_bytes"],
                "lag seconds": lag["lag_seconds"],
                "spooled": lag["spooled_blocks"],
            }
            for lag in found["logs"]
        ],
        "logs",
    )

"""``streampanel viewers``: live-viewer data housekeeping."""

from __future__ import annotations

import typer

from streampanel.cli.output import console, user_errors
from streampanel.cli.store import purge_now
from streampanel.settings import Settings
from streampanel.viewers.purge import purge_expired

app = typer.Typer(help="Live-viewer data.", no_args_is_help=True)

_DEFAULT_RETENTION_DAYS = Settings.model_fields["viewer_retention_days"].default


@app.command("purge")
def purge(
    older_than_days: float = typer.Option(
        None,
        "--older-than-days",
        help=(
            "Default: the configured retention (STREAMPANEL_VIEWER_RETENTION_DAYS, "
            f"default {_DEFAULT_RETENTION_DAYS})."
        ),
    ),
) -> None:
    """Delete live-viewer rows older than the retention now (the server does it hourly)."""
    with user_errors():
        deleted, days = purge_now(
            older_than_days, lambda settings: settings.viewer_retention_days, purge_expired
        )
    console.print(f"deleted {deleted} viewer rows older than {days:g} days")

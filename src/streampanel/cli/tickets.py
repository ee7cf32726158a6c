"""``streampanel tickets``: what the nginx edges need, and attempt housekeeping."""

from __future__ import annotations

import typer

from streampanel.cli.output import console, user_errors
from streampanel.cli.store import open_store, purge_now
from streampanel.settings import Settings
from streampanel.tickets.links import LINK_PURPOSE
from streampanel.tickets.purge import purge_expired

app = typer.Typer(help="Viewer tickets (sevu.*) and their nginx edges.", no_args_is_help=True)

_DEFAULT_RETENTION_DAYS = Settings.model_fields["ticket_attempt_retention_days"].default


@app.command("link-secret")
def link_secret() -> None:
    """Print the secret segment links are signed with (LINK_SECRET in the nginx config)."""
    # Derived from the master key: every process of a deployment has the same.
    with user_errors():
        runtime = open_store(Settings())
        try:
            secret = runtime.box.derive_key(LINK_PURPOSE).hex()
        finally:
            runtime.close()
    typer.echo(secret)


@app.command("purge")
def purge(
    older_than_days: float = typer.Option(
        None,
        "--older-than-days",
        help=(
            "Default: the configured retention (STREAMPANEL_TICKET_ATTEMPT_RETENTION_DAYS, "
            f"default {_DEFAULT_RETENTION_DAYS})."
        ),
    ),
) -> None:
    """Delete old attempts and long-expired tickets now (the server does it regularly)."""
    with user_errors():
        deleted, days = purge_now(
            older_than_days, lambda settings: settings.ticket_attempt_retention_days, purge_expired
        )
    console.print(f"deleted {deleted} ticket attempts and expired tickets older than {days:g} days")

"""``streampanel admin server ingest-token``: the token a server pushes viewer counts with."""

from __future__ import annotations

import typer

from streampanel.cli.output import print_record, user_errors
from streampanel.cli.store import open_store
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import issue_ingest_token
from streampanel.viewers.push import PATH


def ingest_token(
    name: str = typer.Argument(..., help="Server name (created when missing)."),
    location: str = typer.Option("", "--location", help="Location, for a new server."),
) -> None:
    """Issue a new push-route token for a server, replacing its previous one."""
    with user_errors():
        runtime = open_store(Settings())
        try:
            with write_transaction(runtime.engine) as conn:
                server_id = accounts.get_or_create_server(conn, name, location)
                token = issue_ingest_token(conn, server_id)
        finally:
            runtime.close()
    print_record(
        {
            "server": name,
            "ingest_token": token,
            "use": f"POST {PATH} with the header 'Authorization: Bearer <token>'",
        },
        "new ingest token (shown once; only its hash is stored)",
    )

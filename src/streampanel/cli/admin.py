"""``streampanel admin``: accounts, API keys, applications, servers, storage users."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy import Connection

from streampanel.cli import destinations, master_key
from streampanel.cli.ingest_token import ingest_token
from streampanel.cli.output import console, fail, print_record, print_rows, user_errors
from streampanel.cli.store import open_store
from streampanel.runtime import Runtime
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import write_transaction

app = typer.Typer(
    help="Manage accounts, keys, applications, servers and storage users.", no_args_is_help=True
)
account_app = typer.Typer(
    help="Accounts (one per CDN customer; the id is the `cdn`).", no_args_is_help=True
)
key_app = typer.Typer(help="API keys (several per account).", no_args_is_help=True)
app_app = typer.Typer(help="Applications (names are global).", no_args_is_help=True)
server_app = typer.Typer(help="Streaming servers of the CDN.", no_args_is_help=True)
storage_app = typer.Typer(
    help="Storage users (owners of sestoreN/<user>/ trees).", no_args_is_help=True
)
app.add_typer(account_app, name="account")
app.add_typer(key_app, name="key")
app.add_typer(app_app, name="app")
app.add_typer(server_app, name="server")
app.add_typer(storage_app, name="storage-user")
server_app.command("ingest-token")(ingest_token)
app.add_typer(destinations.app, name="destination")
app.add_typer(master_key.app, name="master-key")

CdnOption = typer.Option(..., "--cdn", help="The account's CDN id.")


@contextmanager
def runtime() -> Iterator[Runtime]:
    with user_errors():
        rt = open_store(Settings())
        try:
            yield rt
        finally:
            rt.close()


@contextmanager
def writing() -> Iterator[tuple[Runtime, Connection]]:
    with runtime() as rt, write_transaction(rt.engine) as conn:
        yield rt, conn


def _require_account(conn: Connection, cdn: int) -> None:
    if accounts.get_account(conn, cdn) is None:
        fail(f"no account with cdn {cdn}")


@account_app.command("create")
def account_create(cdn: int = CdnOption, name: str = typer.Option(..., "--name")) -> None:
    """Create an account with the given CDN id."""
    with writing() as (_, conn):
        accounts.create_account(conn, cdn, name)
    console.print(f"account {cdn} created")


@account_app.command("list")
def account_list() -> None:
    """List the accounts."""
    with runtime() as rt, rt.engine.connect() as conn:
        print_rows(accounts.list_accounts(conn), "accounts")


@key_app.command("create")
def key_create(
    cdn: int = CdnOption,
    read_only: bool = typer.Option(False, "--read-only", help="Refuse commands that create."),
    label: str = typer.Option("", "--label"),
) -> None:
    """Create a key. The secret is shown once, now."""
    with writing() as (rt, conn):
        _require_account(conn, cdn)
        api_key, secret = accounts.create_api_key(
            conn, rt.box, cdn, read_only=read_only, label=label
        )
    print_record(
        {"cdn": cdn, "api_key": api_key, "secret": secret, "read_only": read_only},
        "new API key (the secret is not shown again)",
    )


@key_app.command("list")
def key_list(cdn: int = CdnOption) -> None:
    """List an account's API keys (never their secrets)."""
    with runtime() as rt, rt.engine.connect() as conn:
        print_rows(accounts.list_api_keys(conn, cdn), f"API keys of {cdn}")


@key_app.command("revoke")
def key_revoke(api_key: str) -> None:
    """Revoke a key: running servers refuse it within the key cache's lifetime."""
    with writing() as (_, conn):
        if not accounts.revoke_api_key(conn, api_key):
            fail(f"no active key {api_key}")
    console.print(f"key {api_key} revoked")


@app_app.command("create")
def app_create(name: str, cdn: int = CdnOption) -> None:
    """Create an application of an account (names are unique across accounts)."""
    with writing() as (_, conn):
        _require_account(conn, cdn)
        app_id = accounts.create_application(conn, cdn, name)
    console.print(f"application {name} created with id {app_id}")


@app_app.command("list")
def app_list(cdn: int = CdnOption) -> None:
    """List an account's applications."""
    with runtime() as rt, rt.engine.connect() as conn:
        print_rows(accounts.list_applications(conn, cdn), f"applications of {cdn}")


@server_app.command("create")
def server_create(name: str, location: str = typer.Option("", "--location")) -> None:
    """Create a streaming server (the name its logs and collectors report under)."""
    with writing() as (_, conn):
        server_id = accounts.create_server(conn, name, location)
    console.print(f"server {name} created with id {server_id}")


@server_app.command("list")
def server_list() -> None:
    """List the streaming servers."""
    with runtime() as rt, rt.engine.connect() as conn:
        print_rows(accounts.list_servers(conn), "servers")


@storage_app.command("create")
def storage_create(name: str, cdn: int = CdnOption) -> None:
    """Create a storage user of an account (the owner of sestoreN/<name>/)."""
    with writing() as (_, conn):
        _require_account(conn, cdn)
        accounts.create_storage_user(conn, cdn, name)
    console.print(f"storage user {name} created")


@storage_app.command("list")
def storage_list(cdn: int = CdnOption) -> None:
    """List an account's storage users."""
    with runtime() as rt, rt.engine.connect() as conn:
        print_rows(accounts.list_storage_users(conn, cdn), f"storage users of {cdn}")

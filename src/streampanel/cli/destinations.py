"""``streampanel admin destination``: an account's S3 bucket and YouTube channel credentials.

Secrets (S3 keys, OAuth client secret and refresh token) are sealed with the master key
and never printed back: ``show`` says only whether each one is set.
"""

from __future__ import annotations

from typing import Any

import typer

from streampanel.cli.output import console, fail, print_record, user_errors
from streampanel.cli.store import open_store
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction

app = typer.Typer(help="Upload destinations of an account (S3, YouTube).", no_args_is_help=True)

CdnOption = typer.Option(..., "--cdn", help="The account's CDN id.")


def _save(cdn: int, kind: str, settings: dict[str, Any], secrets: dict[str, str]) -> None:
    with user_errors():
        runtime = open_store(Settings())
        try:
            with write_transaction(runtime.engine) as conn:
                if accounts.get_account(conn, cdn) is None:
                    fail(f"no account with cdn {cdn}")
                store.set_destination(conn, runtime.box, cdn, kind, settings, secrets)
        finally:
            runtime.close()


@app.command("s3")
def set_s3(
    cdn: int = CdnOption,
    bucket: str = typer.Option(..., "--bucket", help="Default bucket of aws.upload."),
    region: str = typer.Option("us-east-1", "--region"),
    access_key: str = typer.Option(
        ..., "--access-key", envvar="STREAMPANEL_S3_ACCESS_KEY", prompt=True, hide_input=True
    ),
    secret_key: str = typer.Option(
        ..., "--secret-key", envvar="STREAMPANEL_S3_SECRET_KEY", prompt=True, hide_input=True
    ),
    endpoint_url: str = typer.Option(
        "", "--endpoint-url", help="For S3-compatible stores (MinIO, Ceph, moto)."
    ),
) -> None:
    """Set the account's S3 destination (keys are prompted for when not given)."""
    _save(
        cdn,
        "aws",
        {"bucket": bucket, "region": region, "endpoint_url": endpoint_url},
        {"access_key": access_key, "secret_key": secret_key},
    )
    console.print(f"S3 destination of {cdn} set: bucket {bucket}")


@app.command("youtube")
def set_youtube(
    cdn: int = CdnOption,
    client_id: str = typer.Option(..., "--client-id"),
    client_secret: str = typer.Option(
        ...,
        "--client-secret",
        envvar="STREAMPANEL_YOUTUBE_CLIENT_SECRET",
        prompt=True,
        hide_input=True,
    ),
    refresh_token: str = typer.Option(
        ...,
        "--refresh-token",
        envvar="STREAMPANEL_YOUTUBE_REFRESH_TOKEN",
        prompt=True,
        hide_input=True,
    ),
) -> None:
    """Set the account's YouTube OAuth client and refresh token (youtube.upload scope)."""
    _save(
        cdn,
        "youtube",
        {"client_id": client_id},
        {"client_secret": client_secret, "refresh_token": refresh_token},
    )
    console.print(f"YouTube destination of {cdn} set: client {client_id}")


@app.command("show")
def show(cdn: int = CdnOption) -> None:
    """The account's destinations; secrets are shown only as 'set'."""
    with user_errors():
        runtime = open_store(Settings())
        try:
            with runtime.engine.connect() as conn:
                rows = store.list_destinations(conn, cdn)
        finally:
            runtime.close()
    if not rows:
        console.print(f"upload destinations of {cdn}: (none)")
    for row in rows:
        row["secrets"] = "set (sealed)"
        print_record(row, f"{row.pop('kind')} destination of {cdn}")


@app.command("remove")
def remove(kind: str = typer.Argument(..., help="s3 or youtube"), cdn: int = CdnOption) -> None:
    """Remove an account's S3 or YouTube destination."""
    stored_kind = {"s3": "aws", "aws": "aws", "youtube": "youtube"}.get(kind)
    if stored_kind is None:
        fail("kind must be s3 or youtube")
    with user_errors():
        runtime = open_store(Settings())
        try:
            with write_transaction(runtime.engine) as conn:
                removed = store.delete_destination(conn, cdn, stored_kind)
        finally:
            runtime.close()
    if not removed:
        fail(f"{kind} destination of {cdn} is not set")
    console.print(f"{kind} destination of {cdn} removed")

"""``streampanel docs``: the API documentation (the pages served at ``/docs``) as files."""

from __future__ import annotations

from pathlib import Path

import typer

from streampanel.cli.output import console, user_errors
from streampanel.settings import Settings

app = typer.Typer(help="The API documentation generated from the command registry.")


@app.command("export")
def export(
    directory: Path = typer.Argument(
        ..., help="Where to write index.html and one page per command."
    ),
    api_url: str = typer.Option(
        None,
        "--api-url",
        help="The API address the examples call (default: http://<host>:<port>/stable/ "
        "from the settings).",
    ),
) -> None:
    """Write /docs as static HTML (with its stylesheet), for any static file server."""
    from streampanel.web.docs_pages import export as export_pages

    with user_errors():
        if api_url is None:
            settings = Settings()
            api_url = f"http://{settings.host}:{settings.port}/stable/"
        written = export_pages(directory, api_url)
    console.print(f"wrote {len(written)} files to {directory} (examples call {api_url})")

"""The ``streampanel`` command: a thin layer over the library.

Each sub-command group lives in its own module and is added here.
"""

from __future__ import annotations

import typer

from streampanel.cli import admin, call, collect, docs, ingest, serve, viewers, worker

app = typer.Typer(
    name="streampanel",
    help="Self-hosted control-panel API for video streaming CDNs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(admin.app, name="admin")
app.add_typer(collect.app, name="collect")
app.add_typer(docs.app, name="docs")
app.add_typer(ingest.app, name="ingest")
app.add_typer(viewers.app, name="viewers")
app.command("call")(call.call)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo)
app.command("worker")(worker.worker)


def main() -> None:
    app()

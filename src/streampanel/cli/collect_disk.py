"""``streampanel collect disk``: record each storage user's bytes for today (UTC)."""

from __future__ import annotations

from pathlib import Path

import typer

from streampanel.cli.output import console, fail, print_json, print_rows, user_errors
from streampanel.cli.store import open_store
from streampanel.disk import collect
from streampanel.settings import Settings


def disk(
    roots: list[Path] = typer.Option(
        None, "--root", help="A sestoreN directory to walk (default: the configured roots)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Walk the storage roots and record each storage user's bytes for today (UTC).

    Running again the same day replaces that day's figures.
    """
    with user_errors():
        settings = Settings()
        chosen = list(roots or settings.storage_roots)
        if not chosen:
            fail("no storage roots: set STREAMPANEL_STORAGE_ROOTS or pass --root")
        runtime = open_store(settings)
        try:
            report = collect(runtime.engine, chosen)
        finally:
            runtime.close()
    if as_json:
        print_json(
            {
                "day": report.day.isoformat(),
                "figures": report.figures,
                "unknown": report.unknown,
                "problems": report.problems,
            }
        )
        return
    print_rows(
        [{"storage_user": name, "bytes": size} for name, size in report.figures.items()],
        title=f"disk usage {report.day}",
    )
    for name, size in report.unknown.items():
        console.print(f"directory {name!r} ({size} bytes) is no storage user: not recorded")
    for problem in report.problems:
        console.print(f"[yellow]could not read[/] {problem}")

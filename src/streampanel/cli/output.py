"""Printing for the CLI: tables by default, clean one-line errors, never tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

# Messages are never wrapped: a long line (a hint, the demo credentials, an error) stays one line
# when the output goes to a log or a pipe, where rich would otherwise wrap it at 80 columns.
# Tables pass soft_wrap=False and lay out to the terminal as before.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def print_rows(rows: list[dict[str, Any]], title: str | None = None) -> None:
    if not rows:
        console.print(f"{title}: (none)" if title else "(none)")
        return
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    table = Table(title=title)
    for column in columns:
        justify = "right" if all(isinstance(r.get(column), int | float) for r in rows) else "left"
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table, soft_wrap=False)


def print_record(record: dict[str, Any], title: str | None = None) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in record.items():
        table.add_row(key, _cell(value))
    console.print(table, soft_wrap=False)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one clean line on stderr."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from streampanel.store import StoreRefused

    try:
        yield
    except StoreRefused as exc:
        fail(str(exc))
    except IntegrityError as exc:
        fail(f"already exists or conflicts with existing data ({exc.orig})")
    except OperationalError as exc:
        fail(f"cannot use the store: {exc.orig}")
    except (ValueError, OSError) as exc:
        fail(str(exc))

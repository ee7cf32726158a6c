"""``streampanel admin master-key``: make the key that seals secrets at rest.

Every process of a store must hold the same key; this makes one to distribute, as a 0600 file
(``STREAMPANEL_MASTER_KEY_FILE``) or through the environment (``STREAMPANEL_MASTER_KEY``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from streampanel.cli.output import err_console, fail
from streampanel.secretbox import generate_master_key, write_key_file

app = typer.Typer(help="The master key sealing secrets at rest.", no_args_is_help=True)


@app.command("generate")
def generate(
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Write the key to this new file (mode 0600) instead of printing it.",
    ),
) -> None:
    """Make a new master key (a Fernet key). An existing file is never overwritten."""
    key = generate_master_key()
    if output is None:
        typer.echo(key)
        return
    try:
        write_key_file(output, key)
    except FileExistsError:
        fail(f"{output} exists: a master key file is never overwritten (its secrets need it)")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    err_console.print(f"master key written to {output} (mode 0600)", highlight=False)

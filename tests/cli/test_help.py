"""Every command's ``--help`` reads as command-line help: plain metavars (``FILES...``,
``--server TEXT``), no Python annotations or braces, and a line of help for every admin
sub-command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from typer.testing import CliRunner

from streampanel.cli import COMMANDS, app, load_command

# What typer writes for a parameter when left alone: its annotation in angle brackets (help
# texts may hold placeholders such as <user> or <host>, so only type names are looked for).
ANNOTATION = re.compile(r"<(?:bool|str|int|float|path|file|dir|datetime|list\[[^\]]*\]|\w+ range)>")


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path of names, click command) of every command and group below the top level."""

    def walk(path: tuple[str, ...], command: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        for name, sub_command in getattr(command, "commands", {}).items():
            yield from walk((*path, name), sub_command)

    for name in COMMANDS:
        yield from walk((name,), load_command(name))


def help_text(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_help_page_shows_plain_metavars() -> None:
    pages = [((), help_text())] + [(path, help_text(*path)) for path, _ in commands()]
    assert len(pages) > 30  # the walk reached the sub-commands
    for path, text in pages:
        where = " ".join(("streampanel", *path))
        assert not ANNOTATION.findall(text), f"{where} --help:\n{text}"
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert "{" not in usage and "}" not in usage, f"{where}: {usage}"
    # And what it shows instead.
    ingest = help_text("ingest", "access-log")
    assert "[OPTIONS] FILES..." in ingest
    assert re.search(r"--server\s+TEXT", ingest)
    assert re.search(r"--follow\s+Keep reading", ingest)  # a flag shows no value at all


def test_every_admin_sub_command_has_a_line_of_help() -> None:
    admin = [(path, command) for path, command in commands() if path[0] == "admin"]
    assert len(admin) > 15
    missing = [" ".join(path) for path, command in admin if not command.get_short_help_str()]
    assert not missing, f"without help: {missing}"

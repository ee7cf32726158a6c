"""The ``streampanel`` command: a thin layer over the library.

Each sub-command lives in its own module, imported only when that sub-command runs (or when
help lists it), so a command's start-up pays for its own dependencies and no other's: the
upload worker does not load the web server, the log parsers or the collectors.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup
from typer.main import get_command, get_group

from streampanel.cli.help import plain_help, plain_params

# Sub-command name -> "module:attribute" (a Typer group or a command function), in the
# order help lists them.
COMMANDS = {
    "call": "streampanel.cli.call:call",
    "serve": "streampanel.cli.serve:serve",
    "demo": "streampanel.cli.serve:demo",
    "worker": "streampanel.cli.worker:worker",
    "agent": "streampanel.cli.agent:app",
    "migrate": "streampanel.cli.migrate:migrate",
    "admin": "streampanel.cli.admin:app",
    "collect": "streampanel.cli.collect:app",
    "docs": "streampanel.cli.docs:app",
    "ingest": "streampanel.cli.ingest:app",
    "viewers": "streampanel.cli.viewers:app",
    "tickets": "streampanel.cli.tickets:app",
}


def load_command(name: str) -> Any:
    """The sub-command ``name`` as a click command, importing its module now."""
    module, attribute = COMMANDS[name].split(":")
    target = getattr(importlib.import_module(module), attribute)
    command: Any
    if isinstance(target, typer.Typer):
        command = get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = get_command(single)
    command.name = name
    return plain_help(command)


class CommandTable(MutableMapping[str, Any]):
    """The names of ``COMMANDS``, each built into its command on first lookup.

    Typer reads a group's ``commands`` for dispatch, help and "did you mean" suggestions;
    this table answers all three without importing a module before it is needed.  (``Any``
    for click's command type: typer keeps its copy of click private.)
    """

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        if name not in self._built:
            self._built[name] = load_command(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        raise TypeError(f"add {name!r} to streampanel.cli.COMMANDS instead")

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"remove {name!r} from streampanel.cli.COMMANDS instead")

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyCommands(TyperGroup):
    """The top-level group, its sub-commands looked up in a ``CommandTable``."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = CommandTable()

    def get_params(self, ctx: Any) -> list[Any]:
        # Typer appends the completion options after building the group: made plain here.
        plain_params(self)
        return list(super().get_params(ctx))


app = typer.Typer(
    name="streampanel",
    cls=LazyCommands,
    help="Self-hosted control-panel API for video streaming CDNs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    # Typer builds a group only for an app with a callback or registered commands; the
    # commands here are registered lazily, so this empty callback makes it one.
    pass


def main() -> None:
    app()

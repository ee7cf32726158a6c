"""Help in the plain words of command-line tools: ``FILES...`` and ``--server TEXT``.

Typer writes a parameter's Python annotation in help (``<list[str]>``, ``<bool>`` beside a
flag) and a required argument in braces (``{files}``), which reads as syntax to type.  A
built command's parameters are given the two classes below, which write classic metavars
instead; nothing else about parsing changes.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, get_args

import typer
from typer.core import TyperArgument, TyperOption

_VALUE_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN"}


def value_name(param: TyperArgument | TyperOption) -> str:
    """The metavar given at the declaration, else a name for the kind of value."""
    if param.metavar:
        return param.metavar
    descriptor = param.type_descriptor
    if descriptor.choices is not None:
        return "|".join(str(getattr(choice, "value", choice)) for choice in descriptor.choices)
    annotation = descriptor.annotation
    if descriptor.is_list:
        (annotation,) = get_args(annotation)
    if descriptor.is_path or (isinstance(annotation, type) and issubclass(annotation, PurePath)):
        return {"file": "FILE", "dir": "DIRECTORY"}.get(descriptor.path_type, "PATH")
    return _VALUE_NAMES.get(annotation, getattr(annotation, "__name__", "VALUE").upper())


class PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None  # a flag takes no value: nothing to show
        return value_name(self)


class PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return value_name(self)

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = (self.name or "ARG").upper()
        if self.nargs != 1:
            name += "..."
        return [name if self.required else f"[{name}]"]


def plain_params(command: Any) -> None:
    """Give ``command``'s own parameters (its help option included) plain help."""
    # The help option is made on first use; made now, it is in the loop below.
    help_option = command.get_help_option(typer.Context(command))
    for param in [*command.params, help_option]:
        if isinstance(param, TyperArgument):
            param.__class__ = PlainArgument
        elif isinstance(param, TyperOption):
            param.__class__ = PlainOption


def plain_help(command: Any) -> Any:
    """Give ``command`` and every sub-command below it plain help; returns ``command``."""
    plain_params(command)
    for sub_command in getattr(command, "commands", {}).values():
        plain_help(sub_command)
    return command

"""Commands of the API: the registry, shared parameter forms, and one module per domain.

Importing this package imports every domain module in it, which registers its commands:
a new command joins the API by adding one module here.
"""

import importlib
import pkgutil

from streampanel.commands.registry import REGISTRY, Command, command

_INFRASTRUCTURE = {"registry", "context", "params"}

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _INFRASTRUCTURE:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["REGISTRY", "Command", "command"]

"""Commands of the API: the registry and one module per domain.

Importing this package registers every command.
"""

from streampanel.commands import video  # noqa: F401  (registers commands)
from streampanel.commands.registry import REGISTRY, Command, command

__all__ = ["REGISTRY", "Command", "command"]

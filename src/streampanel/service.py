"""What a background service of the running system is, and what it gets.

A service (upload worker, collectors, access-log followers, purge) is an async context
manager factory: started with the server's lifespan, stopped with it.  It receives a
``ServiceContext`` holding only what every feature may use — settings, the store, the secret
box and the metrics — so features depend on this module, never on the HTTP layer or on the
module that wires them together.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from streampanel.metrics import Metrics
from streampanel.secretbox import SecretBox
from streampanel.settings import Settings


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    engine: Engine
    box: SecretBox
    metrics: Metrics


Service = Callable[[ServiceContext], AbstractAsyncContextManager[Any]]

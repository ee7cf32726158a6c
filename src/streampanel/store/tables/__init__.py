"""All tables of the store, on one ``MetaData``.

Each domain keeps its tables in its own module; importing this package registers them all,
so ``metadata`` is complete wherever it is used (migrations checks, test truncation).
"""

from streampanel.store.tables import (  # noqa: F401
    agents,
    keycheck,
    ratelimits,
    tickets,
    uploads,
    usage,
    viewers,
)
from streampanel.store.tables.base import metadata
from streampanel.store.tables.core import accounts, api_keys, applications, servers, storage_users

__all__ = ["accounts", "api_keys", "applications", "metadata", "servers", "storage_users"]

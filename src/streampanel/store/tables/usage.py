"""Usage tables (filled in by the usage feature)."""

from streampanel.store.tables.base import metadata  # noqa: F401

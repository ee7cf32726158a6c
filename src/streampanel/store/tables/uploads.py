"""Uploads tables (filled in by the uploads feature)."""

from streampanel.store.tables.base import metadata  # noqa: F401

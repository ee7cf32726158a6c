"""Viewers tables (filled in by the viewers feature)."""

from streampanel.store.tables.base import metadata  # noqa: F401

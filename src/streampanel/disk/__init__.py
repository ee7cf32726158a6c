"""The disk collector: each storage user's bytes under the storage roots, per UTC day."""

from streampanel.disk.collector import DiskReport, collect, measure

__all__ = ["DiskReport", "collect", "measure"]

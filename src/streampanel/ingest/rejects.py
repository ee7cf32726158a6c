"""The rejects file kept beside a source: the raw lines that did not parse, each once.

The file is append-only and its committed length is stored with the source's offset (in the
store's checkpoint, or the edge agent's spool): a run that died after writing rejects but
before committing truncates the file back, so rejected lines too are kept exactly once.
"""

from __future__ import annotations

from pathlib import Path


class RejectsFile:
    """``<dir>/<server>/<source id>.rejects``: the raw lines of a source that did not parse."""

    def __init__(self, directory: Path, server: str, source_id: int, committed_length: int):
        self.path = directory / _safe(server) / f"{source_id}.rejects"
        self.length = committed_length
        if self.path.exists() and self.path.stat().st_size > self.length:
            # Written by a run that died before committing: those lines come again.
            with self.path.open("r+b") as handle:
                handle.truncate(self.length)

    def append(self, lines: list[bytes]) -> int:
        """Append ``lines``; returns the length to commit with the block."""
        if not lines:
            return self.length
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"\n".join(lines) + b"\n"
        # Written (to the page cache) before the commit that counts these lines: a killed
        # process loses nothing.  No fsync per block (it cost ~10 % of ingest time): after
        # a power loss the last lines may be missing, never doubled.
        with self.path.open("ab") as handle:
            handle.write(data)
        self.length += len(data)
        return self.length


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"

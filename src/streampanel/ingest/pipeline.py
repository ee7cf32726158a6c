"""The ingest pipeline: read a log in blocks, parse and aggregate each block, and commit
the block's totals with the file's new offset in one transaction.

Exactly once: the checkpoint (offset, counters, parser state, rejects length) moves in the
same transaction as the totals it accounts for, guarded by the offset it started from.  A
run killed anywhere resumes from the last committed block; a block committed twice is
impossible (the guard fails when another run got there first).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from streampanel.ingest import checkpoints
from streampanel.ingest.attribution import ApplicationNames
from streampanel.ingest.blocks import DEFAULT_BLOCK_BYTES, follow_file, read_blocks
from streampanel.ingest.checkpoints import Source
from streampanel.ingest.formats import make_parser
from streampanel.ingest.formats.common import BlockResult
from streampanel.ingest.rejects import RejectsFile
from streampanel.ingest.source import Content, open_content
from streampanel.store import accounts, usage
from streampanel.store.accounts import utcnow
from streampanel.store.engine import write_transaction

log = logging.getLogger("streampanel.ingest")


class ConcurrentIngest(RuntimeError):
    """Another run moved this file's checkpoint: stop rather than count twice."""


@dataclass
class FileReport:
    path: str
    status: str = "ingested"
    lines: int = 0
    bytes: int = 0
    requests: int = 0
    rejected: int = 0
    unattributed_bytes: int = 0
    unattributed_requests: int = 0
    # Bytes of a last line without its newline, left for the next run.
    unfinished: int = 0
    source_id: int | None = None
    rejects_path: Path | None = None
    seconds: float = 0.0
    days: set[date] = field(default_factory=set)


Progress = Callable[[FileReport, int, int], None]


class Ingester:
    """Ingests logs of one server and one format into the store."""

    def __init__(
        self,
        engine: Engine,
        *,
        server: str,
        fmt: str,
        app_pattern: str,
        rejects_dir: Path,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        progress: Progress | None = None,
    ):
        make_parser(fmt, app_pattern)  # fail early on a bad format or pattern
        self.engine = engine
        self.server = server
        self.fmt = fmt
        self.app_pattern = app_pattern
        self.rejects_dir = rejects_dir
        self.block_bytes = block_bytes
        self.progress = progress
        with write_transaction(engine) as conn:
            self.server_id = accounts.get_or_create_server(conn, server)
        self._apps = ApplicationNames(engine)

    # -- public --------------------------------------------------------------------------

    def ingest(self, path: str, stop: threading.Event | None = None) -> FileReport:
        """Ingest what ``path`` holds beyond its checkpoint (``-``: standard input)."""
        content = open_content(path)
        try:
            return self._run(content, stop=stop)
        finally:
            content.close()

    def follow(self, path: str, stop: threading.Event, poll: float = 1.0) -> list[FileReport]:
        """Like ``tail -F``: ingest ``path`` as it grows, across rotations, until ``stop``.

        When the path names a new file (rotation, or a new file after truncation), the old
        one is read until it has stopped growing for two polls (nginx writes to it until
        it reopens its logs), then the new one is followed.
        """
        return follow_file(
            path,
            lambda content: self._run(content, stop=stop, follow_path=path, poll=poll),
            stop,
            poll,
        )

    # -- the loop ------------------------------------------------------------------------

    def _run(
        self,
        content: Content,
        *,
        stop: threading.Event | None = None,
        follow_path: str | None = None,
        poll: float = 1.0,
    ) -> FileReport:
        started = time.perf_counter()
        report = FileReport(content.name)
        if not content.head:
            report.status = "empty"
            return report
        file_id = content.file_id
        with write_transaction(self.engine) as conn:
            source, new = checkpoints.find_or_create(
                conn,
                server_id=self.server_id,
                head=content.head,
                fmt=self.fmt,
                path=os.path.abspath(content.name) if not content.is_stream else content.name,
                device=file_id.device if file_id else None,
                inode=file_id.inode if file_id else None,
                now=utcnow(),
            )
        report.source_id = source.id
        rejects = RejectsFile(self.rejects_dir, self.server, source.id, source.rejects_offset)
        report.rejects_path = rejects.path
        if not new:
            reached = content.skip(source.offset)
            if reached < source.offset:
                report.status = "shorter than its checkpoint: skipped"
                log.warning("%s is shorter than its checkpoint; not ingested", content.name)
                return report
        source_offset_at_start = source.offset
        # A new file's state is the one the server's previous file ended with (Wowza).
        parser = make_parser(self.fmt, self.app_pattern, source.state)

        def commit(end: int, result: BlockResult, state: str) -> None:
            self._commit(source, content, end, rejects, result, state, report)
            if self.progress:
                self.progress(report, content.raw_position(), content.raw_size)

        ingested_any, report.unfinished = read_blocks(
            content,
            parser,
            commit,
            block_bytes=self.block_bytes,
            stop=stop,
            follow_path=follow_path,
            poll=poll,
        )
        if not new and source_offset_at_start:
            report.status = "resumed" if ingested_any else "already ingested"
        report.seconds = time.perf_counter() - started
        return report

    def _commit(
        self,
        source: Source,
        content: Content,
        end: int,
        rejects: RejectsFile,
        result: BlockResult,
        state: str,
        report: FileReport,
    ) -> None:
        attributed, unattributed = self._apps.split(result.totals.iter_rows())
        rejects_length = rejects.append(result.rejects)
        values: dict[str, Any] = {
            "offset": end,
            "lines": source.lines + result.lines,
            "rejected": source.rejected + len(result.rejects),
            "unattributed": source.unattributed + sum(r for *_, r in unattributed),
            "rejects_offset": rejects_length,
            "state": state,
            **checkpoints.widened_identity(source, content.head),
        }
        with write_transaction(self.engine) as conn:
            if not checkpoints.advance(conn, source, values, utcnow()):
                raise ConcurrentIngest(
                    f"{content.name}: another run advanced this file's checkpoint"
                )
            usage.add_usage(conn, self.server_id, attributed)
            usage.add_unattributed(conn, self.server_id, unattributed)
        source.offset = values["offset"]
        source.lines = values["lines"]
        source.rejected = values["rejected"]
        source.unattributed = values["unattributed"]
        source.rejects_offset = rejects_length
        source.state = state
        source.head_len = values.get("head_len", source.head_len)
        report.lines += result.lines
        report.rejected += len(result.rejects)
        for _, day, sent, requests in attributed:
            report.bytes += sent
            report.requests += requests
            report.days.add(day)
        for day, _, sent, requests in unattributed:
            report.unattributed_bytes += sent
            report.unattributed_requests += requests
            report.days.add(day)

"""Reading an access log into the spool: the same block reader and format parsers as
``streampanel ingest``, with the spool where ingest has the store.

Each configured log is followed like ``tail -F`` (across rotations: the old file is read to
its end once it stops growing).  A file is known by the hash of its first bytes, as the
centre knows it; the agent resumes a file it has read before where its spool says, and asks
the centre where to start on a file it has not seen.  After a restart, files of the log
that were rotated away before they were read to their end are looked for beside it (a
renamed ``access.log.1`` or a compressed ``access.log.2.gz``) and finished first.

Rejected lines stay on the edge, in ``STATE_DIR/rejects/``; only their count crosses.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from streampanel.agent.central import CentralError, Refused, Unreachable
from streampanel.agent.config import AccessLog, AgentConfig
from streampanel.agent.session import Pipeline
from streampanel.agent.spool import LocalSource, OffsetMoved
from streampanel.ingest.blocks import follow_file, read_blocks
from streampanel.ingest.formats import make_parser
from streampanel.ingest.formats.common import BlockResult
from streampanel.ingest.rejects import RejectsFile
from streampanel.ingest.source import Content, fingerprint, open_content
from streampanel.uploads.backoff import delay

log = logging.getLogger("streampanel.agent")

# A block whose request body would be larger is sent in pieces (see LogReader._pieces),
# below the centre's limit (intake_max_body_bytes, 3 MiB by default).
MAX_BLOCK_BODY = 2 << 20
# A totals row's encoding besides its application name: day, numbers, punctuation.
_ROW_BYTES = 40


class LogReader:
    def __init__(
        self,
        config: AgentConfig,
        access_log: AccessLog,
        pipeline: Pipeline,
    ):
        self.config = config
        self.access_log = access_log
        self.key = str(access_log.path)
        self.spool, self.failpoints, self.wake = pipeline.spool, pipeline.failpoints, pipeline.wake
        self.session, self.link, self.metrics = (
            pipeline.shared.session,
            pipeline.shared.link,
            pipeline.shared.metrics,
        )
        # Files checked against the centre's checkpoint in this run.
        self._reconciled_ids: set[int] = set()

    def run(self, stop: threading.Event, *, follow: bool = True) -> None:
        """Read the log into the spool: until ``stop`` when following, else to its end."""
        self._finish_rotated(stop)
        if follow:
            follow_file(
                self.key,
                lambda content: self._read(content, stop, follow_path=self.key),
                stop,
                self.config.poll_seconds,
            )
            return
        while not stop.is_set():
            try:
                content = open_content(self.key)
            except FileNotFoundError:
                return
            try:
                if not content.head or self._read(content, stop, follow_path=None):
                    return
            finally:
                content.close()

    # -- one file -------------------------------------------------------------------------

    def _read(self, content: Content, stop: threading.Event, follow_path: str | None) -> bool:
        """Read ``content`` from where its file stands (again from the start of the file
        when the centre moved that, see ``Sender``); True unless the file went away."""
        current = content
        try:
            while not self._read_once(current, stop, follow_path):
                if current is not content:
                    current.close()
                try:
                    current = open_content(content.name)
                except OSError:
                    return False
            return True
        finally:
            if current is not content:
                current.close()

    def _read_once(self, content: Content, stop: threading.Event, follow_path: str | None) -> bool:
        """Read ``content`` from where its file stands; False when that moved meanwhile (its
        spooled blocks were dropped after an offset conflict) and it must be opened anew."""
        source = self._source_for(content, stop)
        if source is None:
            return True
        file_id = content.file_id
        self.spool.seen_at(
            source.id,
            os.path.abspath(content.name),
            file_id.device if file_id else None,
            file_id.inode if file_id else None,
        )
        reached = content.skip(source.read_offset)
        if reached < source.read_offset:
            log.warning(
                "%s is shorter (%d bytes) than what was read of it (%d): not read",
                content.name,
                reached,
                source.read_offset,
            )
            stop.wait(self.config.poll_seconds)
            return True
        # The file has grown past the head it was first known by: its identity widens.
        widened = content.head if len(content.head) > source.head_len else None
        parser = make_parser(self.access_log.format, self.config.app_pattern, source.read_state)
        rejects = RejectsFile(
            self.config.state_dir / "rejects", self.config.server, source.id, source.rejects_length
        )
        position = source.read_offset
        # The parser state where the block being committed starts (a split re-parses it).
        state_before = source.read_state

        def commit(end: int, result: BlockResult, state: str) -> None:
            nonlocal position, widened, state_before
            for piece_end, piece, piece_state in self._pieces(
                content, position, end, result, state, state_before
            ):
                body: dict[str, Any] = {
                    "lines": piece.lines,
                    "rejected": len(piece.rejects),
                    "state": piece_state,
                    "identity": (
                        {"fingerprint": fingerprint(widened), "head_len": len(widened)}
                        if widened is not None
                        else None
                    ),
                    "totals": [
                        [day.isoformat(), app, int(sent), int(requests)]
                        for day, app, sent, requests in piece.totals.iter_rows()
                    ],
                }
                rejects_length = rejects.append(piece.rejects)
                self.spool.add_block(
                    source.id,
                    position,
                    piece_end,
                    body,
                    rejects_length=rejects_length,
                    widened=widened,
                )
                self.metrics.lines_read.inc(piece.lines)
                position, widened = piece_end, None
                self.failpoints.hit("spooled")
                self.wake.set()
            state_before = state

        def idle() -> None:
            # The sender resets a file's read offset after an offset conflict: start over.
            if self.spool.source(source.id).read_offset != position:
                raise OffsetMoved()

        try:
            read_blocks(
                content,
                parser,
                commit,
                block_bytes=self.config.block_bytes,
                stop=stop,
                follow_path=follow_path,
                poll=self.config.poll_seconds,
                idle=idle,
            )
        except OffsetMoved:
            log.info("%s: reading again from the centre's offset", content.name)
            return False
        if follow_path is not None and not stop.is_set():
            self.spool.finish(source.id)  # replaced at its path and read to its end
        return True

    def _pieces(
        self,
        content: Content,
        start: int,
        end: int,
        result: BlockResult,
        state: str,
        state_before: str,
    ) -> list[tuple[int, BlockResult, str]]:
        """The block as one piece, or — when its totals would make a request body past
        ``MAX_BLOCK_BODY`` (a log naming very many unknown applications) — its lines read
        again and parsed in halves, as often as needed: ``(end, result, state)`` each."""
        totals = result.totals
        estimate = int(totals["app"].str.len_bytes().sum() or 0) + _ROW_BYTES * totals.height
        data = content.read_range(start, end) if estimate > MAX_BLOCK_BODY else None
        if data is None:  # small enough, or not a plain file (gzip is read once)
            return [(end, result, state)]
        half = len(data) // 2
        middle = (data.rfind(b"\n", 0, half) + 1) or (data.find(b"\n", half) + 1)
        if middle in (0, len(data)):  # a single line
            return [(end, result, state)]
        parser = make_parser(self.access_log.format, self.config.app_pattern, state_before)
        first = parser.parse(data[:middle])
        first_state = parser.state()
        second = parser.parse(data[middle:])
        return [
            *self._pieces(content, start, start + middle, first, first_state, state_before),
            *self._pieces(content, start + middle, end, second, parser.state(), first_state),
        ]

    def _source_for(self, content: Content, stop: threading.Event) -> LocalSource | None:
        """The spool's record of this file, made when the file is new to the agent: the
        centre says where to start; a centre out of reach means a new file when the agent
        has read files before (from 0), and is waited for on its first run."""
        fmt = self.access_log.format
        known = self.spool.find_source(fmt, content.head)
        if known is not None:
            return self._reconciled(known)
        path = os.path.abspath(content.name)
        attempt = 0
        while not stop.is_set():
            try:
                answer = self.session.lookup(fmt, path, content.head)
                self.link.connected()
                offset, state = int(answer["offset"]), str(answer["state"])
                central_id: int | None = int(answer["source"])
                break
            except Refused as refused:
                self.link.refused(refused.message)
                if refused.status == 409:
                    self.session.forget()
            except Unreachable as unreachable:
                self.link.unreachable(unreachable.message)
                if self.spool.has_history():
                    offset, state, central_id = 0, self.spool.latest_state(fmt), None
                    break
            except CentralError as error:
                self.link.unreachable(error.message)
            attempt += 1
            stop.wait(delay(attempt, 1.0, self.config.backoff_max_seconds))
        else:
            return None
        file_id = content.file_id
        return self.spool.create_source(
            log=self.key,
            fmt=fmt,
            path=path,
            device=file_id.device if file_id else None,
            inode=file_id.inode if file_id else None,
            head=content.head,
            offset=offset,
            state=state,
            central_id=central_id,
        )

    def _reconciled(self, source: LocalSource) -> LocalSource:
        """A file the agent knows, checked once per run against the centre's checkpoint (when
        the centre answers): ahead of what the agent read (another reader got there), the
        agent skips to it; behind what the centre acknowledged (its store was restored from
        a backup), the agent reads again from it.  Otherwise spooled blocks the centre
        already holds are answered as duplicates, and nothing needs doing."""
        if source.id in self._reconciled_ids or source.central_id is None:
            return source
        try:
            answer = self.session.lookup(source.format, source.path, source.head)
        except CentralError:
            return source  # the sender will meet the centre's checkpoint: offsets are guarded
        self._reconciled_ids.add(source.id)
        offset = int(answer["offset"])
        if source.acked_offset <= offset <= source.read_offset:
            return source
        dropped = self.spool.restart_from(source.id, offset, str(answer["state"]))
        log.warning(
            "%s: the centre holds this file at byte %d (the agent had read %d, the centre "
            "had acknowledged %d): reading on from there, %d spooled blocks dropped",
            source.path,
            offset,
            source.read_offset,
            source.acked_offset,
            dropped,
        )
        return self.spool.source(source.id)

    # -- after a restart ------------------------------------------------------------------

    def _finish_rotated(self, stop: threading.Event) -> None:
        """Read to their end the files of this log that were rotated away unfinished."""
        current = self._current_source_id()
        for source in self.spool.sources(self.key):
            if source.finished or source.id == current or stop.is_set():
                continue
            found = self._find_rotated(source)
            if found is None:
                log.warning(
                    "%s: the file once at %s (read to byte %d) is gone; "
                    "what it held past that was not read",
                    self.key,
                    source.path,
                    source.read_offset,
                )
                self.spool.finish(source.id)
                continue
            try:
                log.info("%s: finishing %s, rotated away before it was read", self.key, found.name)
                if self._read(found, stop, follow_path=self.key) and not stop.is_set():
                    self.spool.finish(source.id)
            finally:
                found.close()

    def _current_source_id(self) -> int | None:
        try:
            content = open_content(self.key)
        except OSError:
            return None
        try:
            known = self.spool.find_source(self.access_log.format, content.head)
            return known.id if known else None
        finally:
            content.close()

    def _find_rotated(self, source: LocalSource) -> Content | None:
        """The file beside the log (same directory, name starting with the log's) whose
        content starts as ``source``'s did."""
        directory = Path(self.key).parent
        stem = Path(self.key).name
        try:
            candidates = sorted(p for p in directory.iterdir() if p.name.startswith(stem))
        except OSError:
            return None
        for candidate in candidates:
            if str(candidate) == self.key or not candidate.is_file():
                continue
            try:
                content = open_content(str(candidate))
            except OSError:
                continue
            head = content.head[: source.head_len]
            if len(head) == source.head_len and fingerprint(head) == source.fingerprint:
                return content
            content.close()
        return None

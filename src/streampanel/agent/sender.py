"""Draining the spool: blocks go to the centre oldest first, each removed once acknowledged.

The centre answers a block with ``committed`` or ``duplicate`` (its checkpoint had already
passed the block's end: sent before, its answer lost); either way the block leaves the
spool.  An offset conflict (409 naming the centre's offset) means the spool and the centre
disagree about a file — its spooled blocks are dropped and it is read again from the
centre's offset.  A centre out of reach, a store down (503) or a refusal is retried with
capped exponential backoff and jitter, logged once per change of state; the agent never
gives up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from streampanel.agent.central import CentralError, Refused, Unreachable
from streampanel.agent.config import AgentConfig
from streampanel.agent.session import Pipeline
from streampanel.agent.spool import LocalSource, SpooledBlock
from streampanel.intake import wire
from streampanel.uploads.backoff import delay

log = logging.getLogger("streampanel.agent")


class Sender:
    def __init__(
        self,
        config: AgentConfig,
        pipeline: Pipeline,
    ):
        self.config = config
        self.spool, self.failpoints, self.wake = pipeline.spool, pipeline.failpoints, pipeline.wake
        self.session, self.link, self.metrics = (
            pipeline.shared.session,
            pipeline.shared.link,
            pipeline.shared.metrics,
        )
        # Blocks the centre acknowledged in this run, by outcome (committed, duplicate).
        self.delivered: dict[str, int] = {}

    def run(self, stop: threading.Event, *, until_empty: Callable[[], bool] | None = None) -> None:
        """Send until ``stop`` (a block in flight is finished first), or, with
        ``until_empty``, until it says no more blocks will come and the spool is empty."""
        attempt = 0
        while not stop.is_set():
            try:
                self.session.ensure()
                block = self.spool.oldest()
                if block is None:
                    self.link.connected()
                    if until_empty is not None and until_empty() and self.spool.oldest() is None:
                        return
                    self.wake.wait(max(1.0, self.session.lease_seconds / 3))
                    self.wake.clear()
                    continue
                self._send(block)
                self.link.connected()
                attempt = 0
            except Unreachable as unreachable:
                self.link.unreachable(unreachable.message)
                attempt += 1
                stop.wait(delay(attempt, 1.0, self.config.backoff_max_seconds))
            except Refused as refused:
                self.link.refused(refused.message)
                if refused.status == 409:
                    self.session.forget()
                attempt += 1
                stop.wait(delay(attempt, 1.0, self.config.backoff_max_seconds))
            except CentralError as error:
                self.link.unreachable(error.message)
                attempt += 1
                stop.wait(delay(attempt, 1.0, self.config.backoff_max_seconds))
            finally:
                self.metrics.centre_up.set(1 if self.link.up else 0)

    def _send(self, block: SpooledBlock) -> None:
        source = self.spool.source(block.source_id)
        central_id = source.central_id or self._resolve(source)
        body = block.body
        message = wire.Block(
            agent=self.session.agent_id,
            source=central_id,
            start=block.start,
            end=block.end,
            lines=body["lines"],
            rejected=body["rejected"],
            state=body["state"],
            identity=body["identity"],
            totals=body["totals"],
        )
        try:
            answer = self.session.central.post(wire.BLOCKS, message)
        except Refused as refused:
            if refused.status == 409 and "offset" in refused.details:
                self._restart(source)
                return
            raise
        self.session.renewed()
        self.failpoints.hit("answered")
        self.spool.acknowledge(block, int(answer["offset"]))
        outcome = str(answer["outcome"])
        self.metrics.blocks.labels(outcome).inc()
        self.delivered[outcome] = self.delivered.get(outcome, 0) + 1

    def _resolve(self, source: LocalSource) -> int:
        """The centre's id of a file first read while the centre was out of reach."""
        answer = self.session.lookup(source.format, source.path, source.head)
        central_id = int(answer["source"])
        self.spool.set_central(source.id, central_id)
        return central_id

    def _restart(self, source: LocalSource) -> None:
        """The centre's checkpoint of the file is not where its spooled blocks start: read
        it again from the centre's offset, with the parser state the centre holds there."""
        answer = self.session.lookup(source.format, source.path, source.head)
        offset = int(answer["offset"])
        dropped = self.spool.restart_from(source.id, offset, str(answer["state"]))
        log.warning(
            "%s: the centre holds this file at byte %d, not where the spool's blocks start; "
            "%d spooled blocks dropped, reading it again from there",
            source.path,
            offset,
            dropped,
        )

"""The agent: its parts, each in a thread of its own, started and stopped together.

- one ``LogReader`` per access log: blocks into the spool;
- the ``Sender``: the spool to the centre, oldest block first;
- the viewer pushers (nginx-rtmp ``/stat``, HLS logs): live counts, dropped when the centre
  is out of reach;
- the ``DiskReporter``: storage users' bytes per day;
- the status writer: ``status.json`` and the lag metrics, every few seconds.

Stopping (SIGINT/SIGTERM) lets every reader spool the blocks it has read and the sender
finish the request in flight; the lease is then given up so a replacement agent may start
at once.  Nothing is lost by a harder stop either: what was spooled is sent on the next
start, what was not is read again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from streampanel.agent.central import Central, CentralError
from streampanel.agent.config import AgentConfig
from streampanel.agent.failpoints import Failpoints
from streampanel.agent.link import Link
from streampanel.agent.logs import LogReader
from streampanel.agent.metrics import AgentMetrics
from streampanel.agent.sender import Sender
from streampanel.agent.session import Pipeline, Session, Shared
from streampanel.agent.spool import Spool
from streampanel.agent.status import StatusWriter

if TYPE_CHECKING:
    from streampanel.agent.disk import DiskReporter
    from streampanel.agent.viewers import HlsPusher, RtmpPusher

log = logging.getLogger("streampanel.agent")

STATUS_SECONDS = 2.0
RESTART_SECONDS = 5.0


class Agent:
    def __init__(self, config: AgentConfig):
        self.config = config
        self.metrics = AgentMetrics()
        self.link = Link()
        self.failpoints = Failpoints(config.failpoint)
        self.spool = Spool(config.state_dir)
        self.central = Central(
            config,
            after_first_piece=lambda: self.failpoints.hit("sending"),
            on_sent=self.metrics.bytes_sent.inc,
        )
        self.session = Session(self.central, config, self.spool.agent_id)
        self.wake = threading.Event()
        self.status = StatusWriter(
            config.state_dir,
            config.server,
            [(str(log.path), log.format) for log in config.access_logs],
            self.spool,
            self.link,
            self.metrics,
        )
        shared = Shared(self.session, self.link, self.metrics)
        pipeline = Pipeline(shared, self.spool, self.failpoints, self.wake)
        self.readers = [
            LogReader(config, access_log, pipeline) for access_log in config.access_logs
        ]
        self.sender = Sender(config, pipeline)
        # The viewer and disk parts load only where they are configured (the push route's
        # module brings the web framework, the disk walker the store's).
        self.rtmp: list[RtmpPusher] = []
        self.hls: list[HlsPusher] = []
        if config.nginx_rtmp or config.hls_logs:
            from streampanel.agent.viewers import HlsPusher, RtmpPusher

            self.rtmp = [RtmpPusher(config, stat, shared) for stat in config.nginx_rtmp]
            self.hls = [HlsPusher(config, hls_log, shared) for hls_log in config.hls_logs]
        self.disk: DiskReporter | None = None
        if config.disk.roots:
            from streampanel.agent.disk import DiskReporter

            self.disk = DiskReporter(config, shared)

    def run(self, stop: threading.Event, *, once: bool = False) -> bool:
        """Run until ``stop`` (or, ``once``: read every log to its end, measure the disk,
        deliver it all and return).  True when everything read was delivered."""
        if self.config.metrics_port:
            self.metrics.serve(self.config.metrics_host, self.config.metrics_port)
        log.info(
            "agent %s for server %s: %d access logs, %d HLS logs, %d nginx-rtmp, %d storage roots",
            self.spool.agent_id[:8],
            self.config.server,
            len(self.readers),
            len(self.hls),
            len(self.rtmp),
            len(self.config.disk.roots),
        )
        readers_done = threading.Event()
        quit_status = threading.Event()
        reader_threads = [
            _thread(f"read {r.key}", partial(r.run, stop, follow=not once), stop)
            for r in self.readers
        ]
        others: list[threading.Thread] = []
        if not once:
            others += [_thread(f"rtmp {p.stat.url}", partial(p.run, stop), stop) for p in self.rtmp]
            others += [
                _thread(f"hls {p.hls_log.path}", partial(p.run, stop), stop) for p in self.hls
            ]
        if self.disk is not None:
            others.append(_thread("disk", partial(self.disk.run, stop, once=once), stop))
        status_thread = _thread("status", partial(self._write_status, quit_status), quit_status)
        sender_thread = _thread(
            "send",
            partial(self.sender.run, stop, until_empty=readers_done.is_set if once else None),
            stop,
        )
        for thread in [*reader_threads, *others, status_thread, sender_thread]:
            thread.start()
        for thread in reader_threads:
            thread.join()
        readers_done.set()
        self.wake.set()
        sender_thread.join()
        for thread in others:
            thread.join()
        self._bye()
        quit_status.set()
        status_thread.join()
        final = self.status.write(stopped=True)
        delivered = self.spool.oldest() is None
        log.info(
            "stopped: %d blocks delivered (%d already held by the centre), %d bytes sent, "
            "%d blocks left in the spool",
            sum(self.sender.delivered.values()),
            self.sender.delivered.get("duplicate", 0),
            self.central.bytes_sent,
            final.spooled_blocks,
        )
        self.central.close()
        self.spool.close()
        return delivered

    def _write_status(self, quit_status: threading.Event) -> None:
        while not quit_status.is_set():
            try:
                self.status.viewer_snapshots_dropped = sum(
                    p.dropped for p in [*self.rtmp, *self.hls]
                )
                self.status.write()
            except Exception:  # a full disk must not stop the agent: logged, tried again
                log.exception("writing the agent's status failed")
            quit_status.wait(STATUS_SECONDS)

    def _bye(self) -> None:
        """Give the server's lease up, so a replacement agent can start at once."""
        try:
            self.session.bye()
        except CentralError as error:
            log.info("could not give the lease up (%s): it expires by itself", error.message)


def _thread(name: str, target: Callable[[], None], stop: threading.Event) -> threading.Thread:
    def guarded() -> None:
        # A part that fails unexpectedly is restarted after a pause, never left dead.
        while True:
            try:
                target()
                return
            except Exception:
                log.exception("agent part '%s' failed; restarting it", name)
            if stop.wait(RESTART_SECONDS):
                return

    return threading.Thread(target=guarded, name=name, daemon=True)

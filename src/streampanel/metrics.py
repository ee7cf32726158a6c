"""Prometheus metrics, one registry per process part so several apps can live in one process.

Every long-running process has one ``Metrics``: the API's requests, the upload worker's
jobs, the collectors' polls, the ingester's lines, and what the store says at scrape time
(whether it answers, the upload queue's depth).  ``serve`` exposes them at ``/metrics`` (or on
its own address, ``metrics_port``); the worker, collectors and ingester on ``metrics_port``.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from streampanel.store import uploads as upload_store

log = logging.getLogger("streampanel.metrics")

# Label values come from requests (the dispatcher already names every unknown command
# "unknown"): bounded here too, in number and length, so /metrics cannot be grown by clients.
_MAX_COMMAND_SERIES = 256
_MAX_LABEL_CHARS = 64
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class RequestCollector(Collector):
    """API request counts and latencies, kept as plain numbers and exposed at scrape time.

    Updated once per request by the event loop thread only: prometheus_client's own counters
    take a lock per increment, several times the cost of the update itself.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        # command -> per-bucket counts (the last one is +Inf), then the sum of seconds
        self.latency: dict[str, tuple[list[int], list[float]]] = {}

    def observe(self, command: str, code: int, seconds: float) -> None:
        histogram = self.latency.get(command)
        if histogram is None:
            if len(self.latency) >= _MAX_COMMAND_SERIES or len(command) > _MAX_LABEL_CHARS:
                command = "(other)"
            histogram = self.latency.setdefault(command, ([0] * (len(LATENCY_BUCKETS) + 1), [0.0]))
        histogram[0][bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram[1][0] += seconds
        key = (command, code)
        self.counts[key] = self.counts.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "streampanel_requests",
            "API requests by command and envelope code",
            labels=["command", "code"],
        )
        for (command, code), count in sorted(self.counts.items()):
            requests.add_metric([command, str(code)], count)
        yield requests
        latency = HistogramMetricFamily(
            "streampanel_request_seconds", "API request handling time", labels=["command"]
        )
        for command, (counts, total) in sorted(self.latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((_bucket_label(bound), cumulative))
            latency.add_metric([command], buckets, sum_value=total[0])
        yield latency


def _bucket_label(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class StoreCollector(Collector):
    """What the store says when scraped: whether it answers, and the upload queue's depth
    (jobs not yet done, read from the store: the same figure from every process, whether or
    not it runs a worker).  Scrapes run off the event loop; an unreachable store leaves the
    depth out rather than failing the scrape."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        depth: int | None = None
        try:
            with self.engine.connect() as conn:
                depth = upload_store.queue_depth(conn)
        except SQLAlchemyError:
            pass  # the store's watch has logged the outage
        yield GaugeMetricFamily(
            "streampanel_store_up",
            "1 when the store answered this scrape",
            value=0.0 if depth is None else 1.0,
        )
        if depth is not None:
            yield GaugeMetricFamily(
                "streampanel_upload_queue_depth", "Upload jobs not yet done", value=float(depth)
            )


class Metrics:
    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = RequestCollector()
        r.register(self.requests)
        if engine is not None:
            r.register(StoreCollector(engine))
        self.ingest_lines = Counter(
            "streampanel_ingest_lines",
            "Access-log lines ingested, by outcome",
            ["outcome"],
            registry=r,
        )
        self.ingest_commit_time = Gauge(
            "streampanel_ingest_last_commit_timestamp_seconds",
            "When the ingester last committed a block",
            registry=r,
        )
        self.upload_jobs = Counter(
            "streampanel_upload_jobs",
            "Upload job runs by outcome (done, failed, retry, interrupted, lost, error)",
            ["outcome"],
            registry=r,
        )
        self.upload_jobs_running = Gauge(
            "streampanel_upload_jobs_running", "Upload jobs this process is running", registry=r
        )
        # Collector labels name configured servers and protocols: bounded by configuration.
        self.viewer_polls = Counter(
            "streampanel_viewer_polls",
            "Viewer collector steps by server, protocol and result (ok, failed)",
            ["server", "protocol", "result"],
            registry=r,
        )
        self.viewers = Gauge(
            "streampanel_viewers",
            "Viewers a collector last counted, by server and protocol",
            ["server", "protocol"],
            registry=r,
        )
        self.push_requests = Counter(
            "streampanel_push_requests",
            "Requests to the viewer push route by HTTP status",
            ["status"],
            registry=r,
        )
        self.push_rows = Counter(
            "streampanel_push_rows", "Viewer rows stored from the push route", registry=r
        )

    def observe_request(self, command: str, code: int, seconds: float) -> None:
        self.requests.observe(command, code, seconds)

    def render(self) -> bytes:
        """The exposition text (reads the store: call it off the event loop)."""
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> Any:
        """Expose the metrics on ``host:port`` from a thread of their own; returns the HTTP
        server (``shutdown()`` stops it)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, port)
        return server

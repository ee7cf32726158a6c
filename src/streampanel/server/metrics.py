"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "streampanel_requests",
            "API requests by command and envelope code",
            ["command", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "streampanel_request_seconds",
            "API request handling time",
            ["command"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.queue_depth = Gauge(
            "streampanel_upload_queue_depth", "Upload jobs not yet done", registry=self.registry
        )
        self.ingest_lines = Counter(
            "streampanel_ingest_lines",
            "Access-log lines ingested, by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

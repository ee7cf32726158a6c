"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
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

    def observe_request(self, command: str, code: int, seconds: float) -> None:
        # labels() takes a lock and builds a key each time: keep the children.
        key = (command, code)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(command, str(code)),
                self.latency.labels(command),
            )
            if len(self._request_children) < 10_000:
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

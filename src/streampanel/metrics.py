"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

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


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestCollector()
        self.registry.register(self.requests)
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
        self.requests.observe(command, code, seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""The agent's own Prometheus metrics (``metrics_port``), on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.lines_read = Counter(
            "streampanel_agent_lines_read", "Access-log lines parsed into blocks", registry=r
        )
        self.blocks = Counter(
            "streampanel_agent_blocks",
            "Blocks the centre acknowledged, by outcome (committed, duplicate)",
            ["outcome"],
            registry=r,
        )
        self.bytes_sent = Counter(
            "streampanel_agent_sent_bytes", "Request body bytes sent to the centre", registry=r
        )
        self.spooled_blocks = Gauge(
            "streampanel_agent_spooled_blocks", "Blocks waiting for the centre", registry=r
        )
        self.lag_bytes = Gauge(
            "streampanel_agent_lag_bytes",
            "Bytes of a log not yet acknowledged by the centre",
            ["log"],
            registry=r,
        )
        self.lag_seconds = Gauge(
            "streampanel_agent_lag_seconds",
            "Seconds since the centre last held all of a log",
            ["log"],
            registry=r,
        )
        self.centre_up = Gauge(
            "streampanel_agent_centre_up", "1 while the centre answers", registry=r
        )
        self.viewer_snapshots = Counter(
            "streampanel_agent_viewer_snapshots",
            "Viewer snapshots by result (sent; dropped while the centre was unreachable)",
            ["source", "result"],
            registry=r,
        )
        self.disk_reports = Counter(
            "streampanel_agent_disk_reports", "Disk reports by result", ["result"], registry=r
        )

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)

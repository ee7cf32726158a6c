"""Demo live viewers, through the real collector paths.

Three hours of per-minute ``/stat`` documents for the demo servers (publishers, push relays
and players, as nginx-rtmp writes them) go through the real parser and store; half an hour
of a generated HLS access log goes through the real HLS derivation.  Times are whole minutes
before now, so running the demo again replaces the same rows instead of adding copies.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime

from streampanel.demo import DEMO_SERVERS, populator
from streampanel.runtime import Runtime
from streampanel.viewers.collector import PROTOCOL as RTMP
from streampanel.viewers.hls_collector import HlsCollector
from streampanel.viewers.snapshots import store_reports
from streampanel.viewers.stat import parse_stat

MINUTES = 180
HLS_MINUTES = 30
# (app, stream, peak viewers, minutes ago it started or None for all along)
STREAMS = [
    ("demo-live", "concert_720p", 120, None),
    ("demo-live", "concert_360p", 45, None),
    ("demo-live", "news", 30, None),
    ("demo-events", "keynote", 200, 90),
    ("demo-origin", "ingest1", 0, None),
]


def _client(index: int, address: str, flashver: str, publishing: bool = False) -> str:
    flag = "<publishing/>" if publishing else ""
    return (
        f"<client><id>{index}</id><address>{address}</address><time>60000</time>"
        f"<flashver>{flashver}</flashver><dropped>0</dropped>{flag}<active/></client>"
    )


def stat_document(server: str, minute: int, rng: random.Random) -> str:
    """An nginx-rtmp /stat document of ``server`` ``minute`` minutes before the anchor."""
    apps: dict[str, list[str]] = {}
    for app, stream, peak, started in STREAMS:
        if started is not None and minute > started:
            continue
        wave = 0.6 + 0.4 * math.sin((MINUTES - minute) / 25 + len(server) + len(stream))
        players = max(0, round(peak * wave / len(DEMO_SERVERS) + rng.uniform(-2, 2)))
        clients = [_client(1, "192.0.2.10", "FMLE/3.0 (compatible; Lavf60.16)", True)]
        # The origin pushes to its edges: a relay client, never a viewer.
        clients.append(_client(2, f"edge-{server.lower()}.example/{app}", "ngx-local-relay"))
        clients += [
            _client(10 + i, f"198.51.100.{i % 250}", "LNX 9,0,124,2") for i in range(players)
        ]
        apps.setdefault(app, []).append(
            f"<stream><name>{stream}</name>{''.join(clients)}"
            f"<nclients>{len(clients)}</nclients><publishing/><active/></stream>"
        )
    body = "".join(
        f"<application><name>{app}</name><live>{''.join(streams)}</live></application>"
        for app, streams in apps.items()
    )
    return f'<?xml version="1.0" encoding="utf-8" ?><rtmp><server>{body}</server></rtmp>'


def _hls_log(anchor: int, rng: random.Random) -> str:
    lines = []
    agents = ["Mozilla/5.0 (iPhone) Safari", "AppleCoreMedia/1.0", "hls.js Chrome/120"]
    for viewer in range(12):
        joined = anchor - rng.randint(60, HLS_MINUTES * 60)
        left = min(anchor, joined + rng.randint(120, HLS_MINUTES * 60))
        ip = f"203.0.113.{viewer + 1}"
        for moment in range(joined, left, 4):
            stamp = datetime.fromtimestamp(moment, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
            uri = (
                "/demo-live/concert_720p/index.m3u8"
                if moment % 8 == 0
                else f"/demo-live/concert_720p/{moment // 4}.ts"
            )
            lines.append(
                (
                    moment,
                    f'{ip} - - [{stamp}] "GET {uri} HTTP/1.1" 200 188000 "-" '
                    f'"{agents[viewer % len(agents)]}"\n',
                )
            )
    return "".join(line for _, line in sorted(lines))


@populator
def populate_viewers(runtime: Runtime) -> None:
    """live viewers: 3 h of /stat polls of HML, FRA, NYC and 30 min of HLS access log"""
    populate(runtime, time.time())


def populate(runtime: Runtime, now: float) -> None:
    anchor = int(now) // 60 * 60
    for server in DEMO_SERVERS:
        rng = random.Random(server)
        reports = []
        for minute in range(MINUTES, -1, -1):
            counts = parse_stat(stat_document(server, minute, rng))
            reports.append((anchor - minute * 60, counts))
        store_reports(runtime.engine, server, RTMP, reports)
    log = runtime.settings.data_dir / "demo" / "hls-access.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(_hls_log(anchor, random.Random("hls")))
    HlsCollector(runtime.engine, "HML", log).replay()

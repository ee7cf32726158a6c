"""Synthetic nginx ``combined`` logs of HLS traffic, for the demo and the benchmark.

Deterministic for a seed: the same arguments write the same bytes, so a demo run repeated
later finds the files it already ingested (exactly-once does the rest).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_AGENTS = (
    "AppleCoreMedia/1.0.0.20G75 (iPhone; U; CPU OS 16_6 like Mac OS X; en_us)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
    "VLC/3.0.18 LibVLC/3.0.18",
    "ExoPlayerLib/2.18.7",
)


def _stamp(moment: datetime, tz: str) -> str:
    return (
        f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {tz}"
    )


def hls_lines(
    *,
    start: datetime,
    seconds: float,
    count: int,
    apps: list[str],
    seed: int,
    weights: list[float] | None = None,
    unknown_app_every: int = 0,
    garbage_every: int = 0,
) -> Iterator[str]:
    """``count`` lines spread evenly over ``seconds`` from ``start`` (UTC, written +0000):
    playlists (~0.5 kB) and segments (0.2-2 MB) of a few streams per application."""
    rng = random.Random(seed)
    weights = weights or [1.0 / (rank + 1) for rank in range(len(apps))]
    chosen = rng.choices(apps, weights=weights, k=min(count, 65536))
    step = seconds / max(count, 1)
    stamp_cache: dict[int, str] = {}
    for n in range(count):
        if garbage_every and n % garbage_every == garbage_every - 1:
            yield f"\\x16\\x03\\x01 garbage {n}\n"
            continue
        offset = int(n * step)
        stamp = stamp_cache.get(offset)
        if stamp is None:
            stamp_cache.clear()
            stamp = stamp_cache[offset] = _stamp(start + timedelta(seconds=offset), "+0000")
        app = chosen[n % len(chosen)]
        if unknown_app_every and n % unknown_app_every == 0:
            app = "unregistered-app"
        stream = n % 5
        if n % 3 == 0:
            path, size = f"/{app}/stream{stream}/index.m3u8", 380 + n % 200
        else:
            path = f"/{app}/stream{stream}/media_{n // 3}.ts"
            size = 200_000 + (n * 7919) % 1_800_000
        yield (
            f'10.{n % 251}.{n % 241}.{n % 239} - - [{stamp}] "GET {path} HTTP/1.1" 200 {size} '
            f'"-" "{_AGENTS[n % len(_AGENTS)]}"\n'
        )


def write_log(path: str, lines: Iterator[str], buffer_lines: int = 20000) -> int:
    """Write lines to ``path``; returns how many."""
    written = 0
    batch: list[str] = []
    with open(path, "w", encoding="ascii") as out:
        for line in lines:
            batch.append(line)
            if len(batch) >= buffer_lines:
                out.write("".join(batch))
                written += len(batch)
                batch = []
        out.write("".join(batch))
        written += len(batch)
    return written

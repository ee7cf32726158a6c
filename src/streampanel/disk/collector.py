"""Walk the storage roots and record each storage user's bytes for the UTC day.

Each configured root is a ``sestoreN`` directory whose sub-directories are storage users'
trees.  A user's figure is the apparent size of the regular files in their trees, summed
over all roots.  Symbolic links are never followed (a link out of a root cannot make a user
pay for someone else's files) and are not counted; a file with several hard links in one
user's tree counts once.  Known storage users with no tree get 0 for the day, so a series
has no holes; directories that are no storage user are reported, not recorded.  Running
again the same day replaces that day's figures.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from streampanel.store import accounts, usage
from streampanel.store.accounts import utcnow
from streampanel.store.engine import write_transaction

log = logging.getLogger("streampanel.disk")


@dataclass
class DiskReport:
    day: date
    measured: datetime
    # storage user name -> bytes recorded
    figures: dict[str, int] = field(default_factory=dict)
    # directories under the roots that are no storage user: path -> bytes
    unknown: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _tree_bytes(top: str, problems: list[str]) -> int:
    total = 0
    seen: set[tuple[int, int]] = set()
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            problems.append(f"{directory}: {exc.strerror or exc}")
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append(f"{entry.path}: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(entry.path)
            elif stat.S_ISREG(info.st_mode):
                if info.st_nlink > 1:
                    key = (info.st_dev, info.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
                total += info.st_size
    return total


def measure(roots: list[Path], problems: list[str] | None = None) -> dict[str, int]:
    """``storage user directory name -> bytes`` over all roots."""
    problems = problems if problems is not None else []
    sizes: dict[str, int] = {}
    for root in roots:
        try:
            entries = list(os.scandir(root))
        except OSError as exc:
            problems.append(f"{root}: {exc.strerror or exc}")
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                sizes[entry.name] = sizes.get(entry.name, 0) + _tree_bytes(entry.path, problems)
    return sizes


def collect(
    engine: Engine, roots: list[Path], *, day: date | None = None, now: datetime | None = None
) -> DiskReport:
    """Measure the roots and store every storage user's figure for ``day`` (today, UTC)."""
    measured = now or utcnow()
    report = DiskReport(day=day or measured.date(), measured=measured)
    sizes = measure(roots, report.problems)
    with write_transaction(engine) as conn:
        users = {u["name"]: u["id"] for u in accounts.list_storage_users(conn)}
        figures = {user_id: sizes.get(name, 0) for name, user_id in users.items()}
        usage.record_disk_usage(conn, report.day, figures, measured)
    report.figures = {name: sizes.get(name, 0) for name in sorted(users)}
    report.unknown = {name: size for name, size in sorted(sizes.items()) if name not in users}
    for problem in report.problems:
        log.warning("disk collector: %s", problem)
    return report

"""The embedded server's disk collector service measures at start-up and stops cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from streampanel.disk.service import disk_collector_service
from streampanel.runtime import Runtime
from streampanel.store.tables.usage import disk_usage
from tests.conftest import MakeAccount


def test_service_collects_at_start(
    runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    make_account(158, storage_users=("demo",))
    root = tmp_path / "sestore1"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "a.mp4").write_bytes(b"x" * 4321)
    settings = runtime.settings.model_copy(
        update={"storage_roots": [root], "disk_collect_interval": 3600.0}
    )
    state = SimpleNamespace(settings=settings, engine=runtime.engine)

    def measured() -> list[int]:
        with runtime.engine.connect() as conn:
            return [int(b) for b in conn.execute(select(disk_usage.c.bytes)).scalars()]

    async def run() -> None:
        async with disk_collector_service(state):  # type: ignore[arg-type]
            for _ in range(200):
                if measured():
                    break
                await asyncio.sleep(0.05)

    asyncio.run(run())
    assert measured() == [4321]

"""Disk usage from two edges' agents: each measures its own storage roots, the centre keeps
each server's figure and ``disk.usage`` answers their sum per storage user and day."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from streampanel.client import Client
from streampanel.runtime import Runtime
from tests.agent.helpers import AgentProcess, issue_token, write_config
from tests.conftest import MakeAccount
from tests.support.server import LiveServer


def test_disk_usage_is_summed_over_edges(
    live_api: LiveServer, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    creds = make_account(158, storage_users=("alice", "bob"))
    trees = {
        "EDGE1": {"alice/a.mp4": 1000, "alice/sub/b.mp4": 234, "stranger/x": 5},
        "EDGE2": {"alice/c.mp4": 10, "bob/d.mp4": 7},
    }
    for server, files in trees.items():
        root = tmp_path / server / "sestore1"
        for name, size in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(b"x" * size)
        config = write_config(
            tmp_path / f"{server}.toml",
            url=live_api.url,
            server=server,
            token_file=issue_token(runtime, server, tmp_path),
            state_dir=tmp_path / server / "state",
            logs=[],
            extra=f'[disk]\nroots = ["{root}"]',
        )
        agent = AgentProcess(config, tmp_path / f"{server}.out", once=True)
        assert agent.wait() == 0, agent.log()
        if server == "EDGE1":
            assert "no storage user: stranger" in agent.log()

    today = datetime.now(UTC).date().isoformat()
    with Client(live_api.api_url, creds.cdn, creds.api_key, creds.secret) as client:
        usage = client.call("disk.usage", cpu="", starttime=today)["usage"]
    assert [(u["summary_date"], u["cpu_user"], u["bytes_total"]) for u in usage] == [
        (today, "alice", 1244),
        (today, "bob", 7),
    ]

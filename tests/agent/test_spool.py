"""The agent's spool: blocks added only where the file's last one ended, acknowledged oldest
first, a file read again from the centre's offset, the instance id kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from streampanel.agent.spool import OffsetMoved, Spool

HEAD = b"127.0.0.1 - - [19/Mar/2024:10:00:00 +0000] " * 30


def body(state: str = "{}") -> dict[str, object]:
    return {"lines": 1, "rejected": 0, "state": state, "identity": None, "totals": []}


def test_blocks_follow_each_other_and_leave_when_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    source = spool.create_source(
        log="/l",
        fmt="nginx-combined",
        path="/l",
        device=1,
        inode=2,
        head=HEAD[:1024],
        offset=0,
        state="{}",
        central_id=None,
    )
    spool.add_block(source.id, 0, 100, body(), rejects_length=0)
    spool.add_block(source.id, 100, 250, body('{"s": 1}'), rejects_length=7)
    with pytest.raises(OffsetMoved):
        spool.add_block(source.id, 100, 300, body(), rejects_length=0)  # not where 250 ended
    known = spool.find_source("nginx-combined", HEAD)
    assert known is not None and (known.read_offset, known.read_state) == (250, '{"s": 1}')
    assert known.rejects_length == 7
    assert spool.find_source("nginx-json", HEAD) is None

    oldest = spool.oldest()
    assert oldest is not None and (oldest.start, oldest.end) == (0, 100)
    spool.acknowledge(oldest, 100)
    second = spool.oldest()
    assert second is not None and (second.start, second.end) == (100, 250)
    assert spool.pending() == {source.id: (1, second.spooled)}

    # The centre holds the file elsewhere: its blocks go, it is read again from there.
    assert spool.restart_from(source.id, 60, '{"c": 2}') == 1
    assert spool.oldest() is None
    again = spool.source(source.id)
    assert (again.read_offset, again.acked_offset, again.read_state) == (60, 60, '{"c": 2}')
    agent_id = spool.agent_id
    spool.close()
    assert Spool(tmp_path).agent_id == agent_id


def test_a_file_first_seen_short_is_found_once_grown_and_widened(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    short = HEAD[:100]
    source = spool.create_source(
        log="/l",
        fmt="nginx-combined",
        path="/l",
        device=None,
        inode=None,
        head=short,
        offset=0,
        state="{}",
        central_id=7,
    )
    assert spool.find_source("nginx-combined", HEAD[:1024]) == spool.source(source.id)
    spool.add_block(source.id, 0, 100, body(), rejects_length=0, widened=HEAD[:1024])
    widened = spool.source(source.id)
    assert (widened.head_len, widened.head) == (1024, HEAD[:1024])
    assert spool.find_source("nginx-combined", HEAD[:1024]) == widened

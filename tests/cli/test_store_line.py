"""Every CLI command that opens a store says which: they all open it through
``streampanel.cli.store``, which prints the line first."""

from __future__ import annotations

from pathlib import Path

import streampanel.cli

CLI = Path(streampanel.cli.__file__).parent


def test_commands_open_the_store_only_through_the_announcing_helper() -> None:
    bypassing = [
        module.name
        for module in CLI.glob("*.py")
        if module.name != "store.py"
        and ("open_runtime" in module.read_text() or "create_store_engine(" in module.read_text())
        and "announce_store(" not in module.read_text()
    ]
    assert bypassing == []

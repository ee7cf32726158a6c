"""The systemd units of deploy/systemd pass ``systemd-analyze verify``, cover every
long-running command and timer the deployment guide names, and run nothing but streampanel
commands that exist."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streampanel.cli import COMMANDS
from tests.conftest import repo_root

UNITS = repo_root() / "deploy" / "systemd"
INSTALLED = "/opt/streampanel/bin/streampanel"


def unit_files() -> list[Path]:
    return sorted(p for p in UNITS.iterdir() if p.suffix in {".service", ".timer", ".target"})


def test_every_role_has_its_unit() -> None:
    names = {p.name for p in unit_files()}
    assert names == {
        "streampanel.target",
        "streampanel-migrate.service",
        "streampanel-api@.service",
        "streampanel-worker.service",
        "streampanel-collect-viewers@.service",
        "streampanel-collect-hls@.service",
        "streampanel-ingest@.service",
        "streampanel-purge.service",
        "streampanel-purge.timer",
        "streampanel-tickets-purge.service",
        "streampanel-tickets-purge.timer",
        "streampanel-disk.service",
        "streampanel-disk.timer",
        "streampanel-agent.service",
    }
    for timer in UNITS.glob("*.timer"):
        assert timer.with_suffix(".service").exists(), timer


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("needs systemd-analyze: install Debian's systemd package")
    # verify checks that ExecStart= names an executable: the units name where the
    # deployment guide installs streampanel; here it is this checkout's virtualenv.
    here = str(Path(sys.executable).parent / "streampanel")
    for unit in unit_files():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, here))
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / unit.name) for unit in unit_files())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Unknown keys and bad values are only warnings to systemd: any output is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_service_runs_an_existing_streampanel_command() -> None:
    for unit in UNITS.glob("*.service"):
        (line,) = re.findall(r"^ExecStart=(.*)$", unit.read_text(), flags=re.MULTILINE)
        program, command, *_ = shlex.split(line)
        assert program == INSTALLED, unit
        assert command in COMMANDS, unit


def test_only_the_migration_unit_may_change_the_schema() -> None:
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        assert "MIGRATE_ON_START=true" not in text
        if unit.name == "streampanel-migrate.service":
            assert "EnvironmentFile=/etc/streampanel/migrate.env" in text
            continue
        assert "migrate.env" not in text, unit  # the migrator's credentials stay there
        if "EnvironmentFile=/etc/streampanel/streampanel.env" in text:
            assert "After=network-online.target streampanel-migrate.service" in text, unit

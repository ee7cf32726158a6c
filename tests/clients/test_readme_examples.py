"""The README's SDK and CLI examples, run as written against a server holding the demo data:
their dates fall inside it, so every figure they print is a real one (not 30 days of zeros)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streampanel.demo import seed_account
from streampanel.demo.usage import populate_usage
from streampanel.runtime import Runtime
from tests.conftest import repo_root
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

README = (repo_root() / "README.md").read_text(encoding="utf-8")
README_URL = "http://127.0.0.1:8080/stable/"


def block(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading``."""
    section = README.split(heading + "\n", 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under {heading!r}"
    return match.group(1)


@pytest.fixture
def demo(live_api: LiveServer, runtime: Runtime, tmp_path: Path) -> LiveServer:
    """The live server with the demo account and its usage data (generated logs through the
    ingester, the storage tree through the disk collector), as `serve --demo` makes them."""
    demo_runtime = Runtime(
        runtime.settings.model_copy(update={"data_dir": tmp_path}), runtime.engine, runtime.box
    )
    seed_account(demo_runtime)
    populate_usage(demo_runtime)
    return live_api


def assert_real_figures(servers: list[dict[str, Any]], disk: list[dict[str, Any]]) -> None:
    # Every day of the period has traffic on each of the three demo servers, and a disk
    # measurement for each of the two demo storage users: no day falls outside the data.
    assert len(servers) == 30 * 3
    assert all(row["requests_total"] > 0 and row["bytes_total"] > 0 for row in servers)
    assert len(disk) == 30 * 2
    assert all(row["bytes_total"] > 0 for row in disk)
    assert {row["cpu_user"] for row in disk} == {"demo", "jb"}


def test_the_sdk_example_prints_real_figures(demo: LiveServer) -> None:
    code = block("### Python SDK", "python")
    assert README_URL in code
    printed: list[tuple[Any, ...]] = []
    # The README's own code, only the URL changed; what it prints is collected.
    exec(code.replace(README_URL, demo.api_url), {"print": lambda *values: printed.append(values)})
    (apps,), (servers,), (disk,), failure = printed
    assert "demo-origin" in [app["name"] for app in apps]
    assert_real_figures(servers, disk)
    assert failure[0] == 404


def test_the_cli_examples_print_real_figures(demo: LiveServer) -> None:
    lines = block("### CLI", "sh").replace("\\\n", " ").splitlines()
    exports = [line for line in lines if line.startswith("export ")]
    calls = [line for line in lines if line.startswith(".venv/bin/streampanel call ")]
    assert exports and len(calls) == 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPANEL_")}
    env["STREAMPANEL_URL"] = demo.api_url
    answers = {}
    for call in calls:
        command = call.replace(".venv/bin/streampanel", f"{sys.executable} -m streampanel")
        if "--json" not in command:
            command += " --json"
        script = "\n".join([*exports, command])
        result = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{call}\n{result.stderr}"
        answer = json.loads(result.stdout)
        assert answer["status"] == "success", answer
        answers[call.split()[2]] = answer
    assert "demo-origin" in [app["name"] for app in answers["video.getapps"]["data"]]
    assert_real_figures(answers["video.servers"]["data"], answers["disk.usage"]["usage"])

"""The example code on every docs page runs as printed: PHP (php-cli with curl, the
documented style), Python (the SDK) and curl with openssl, against a real server holding
the demo account's credentials."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streampanel.commands import REGISTRY
from streampanel.demo import seed_account
from streampanel.runtime import Runtime
from streampanel.web.reference import command_reference
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

# With the demo account and no data, these succeed; the others answer a clean 404/409
# (no such upload request or ticket, no destination configured) - never 400 or 401.
SUCCEED = {
    "video.getapps",
    "video.servers",
    "disk.usage",
    "viewer.livedetailed",
    "aws.status",
    "sevu.request",
    "sevu.errorcount",
    "sevu.addstreamuser",
    "sevu.liststreamusers",
}


def _code(language: str, output: str) -> int:
    if language == "PHP":
        found = re.search(r"\[code\] => (\d+)", output)
        assert found, output
        return int(found[1])
    if language == "curl":
        return int(json.loads(output)["code"])
    if output.startswith("failed:"):
        return int(output.split()[1])
    return 200


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_examples_run_as_printed(
    live_api: LiveServer, runtime: Runtime, tmp_path: Path, name: str
) -> None:
    seed_account(runtime)
    examples = command_reference(name).code_examples(live_api.api_url)
    runners = {
        "PHP": (["php"], "example.php"),
        "Python": ([sys.executable], "example.py"),
        "curl": (["bash"], "example.sh"),
    }
    for language, code in examples.items():
        program, filename = runners[language]
        path = tmp_path / filename
        path.write_text(code)
        done = subprocess.run(
            [*program, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, (language, done.stderr)
        code_answered = _code(language, done.stdout)
        if name in SUCCEED:
            assert code_answered == 200, (language, done.stdout)
        else:
            assert code_answered in (404, 409), (language, done.stdout)

"""The documented PHP example, taken from the original documentation page of ``disk.usage``
(tests/data/api_docs), changed only as a user would change it: URL, command and parameters
(and, for the failure cases, the secret, the clock or the body)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

DOC_PAGE = Path(__file__).resolve().parents[1] / "data" / "api_docs" / "disk.usage.txt"
DOC_URL = "https://api.scaleengine.net/stable/"
DOC_SECRET = "8fc8c48da81e6a2a06a9556379bf798af508dc0792497c678b4c3532ba8b637f"


def documented_code() -> str:
    text = DOC_PAGE.read_text(encoding="utf-8")
    match = re.search(r"Example Code \(PHP\)\n(.*?)\nRequest Fields", text, re.S)
    assert match, "the documentation page's PHP example was not found"
    return match.group(1)


def php_script(
    url: str,
    request_array: str,
    *,
    secret: str = DOC_SECRET,
    timestamp: str = "time()",
    tamper: str | None = None,
) -> str:
    code = documented_code()
    code = code.replace(DOC_URL, url)
    code, count = re.subn(
        r"\$request = array\(.*?\n    \);", lambda _m: request_array, code, count=1, flags=re.S
    )
    assert count == 1
    code = code.replace("time()", timestamp)
    code = code.replace(DOC_SECRET, secret)
    if tamper is not None:
        # Change the body after it was signed, before it is posted.
        signed_and_serialized = (
            "$request['signature'] = $sig;\n    $json_request = json_encode($request);"
        )
        assert signed_and_serialized in code
        code = code.replace(signed_and_serialized, signed_and_serialized + "\n    " + tamper)
    return "<?php\n" + code + "\n"


def run_php(script: str, tmp_path: Path) -> dict[str, str]:
    php = shutil.which("php")
    assert php, "php-cli is required (Debian php-cli and php-curl; the test command installs them)"
    path = tmp_path / "client.php"
    path.write_text(script, encoding="utf-8")
    result = subprocess.run([php, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    # print_r of the decoded response: "[key] => value" lines at the first level.
    fields = dict(re.findall(r"^    \[(\w+)\] => (.*)$", result.stdout, re.M))
    fields["_output"] = result.stdout
    return fields

"""The repository stands alone: no tracked file points at material outside it.

Tests, scripts and docs once read test data from a folder beside the development checkout; a
fresh clone then failed at collection. The data now lives in tests/data, and this test keeps any
reference to the sibling folder (or to its design document's sections) from coming back.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Built from parts so that this file does not name what it looks for.
SIBLING = "shared"
FORBIDDEN = re.compile(
    "|".join(
        [
            re.escape("../" + SIBLING),  # a relative path to the sibling folder
            re.escape(f'"{SIBLING}"') + r"\s*/",  # a pathlib join through it
            re.escape("DES" + "IGN §"),  # sections of a document that is not here
        ]
    )
)


def tracked_files() -> list[Path]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listing.returncode != 0:
        # Not a git checkout (an unpacked archive): every file but generated ones.
        skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in listing.stdout.decode().split("\0") if name]


def test_no_tracked_file_refers_to_material_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary files; a file deleted but not yet committed
        for number, line in enumerate(text.splitlines(), start=1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_check_finds_what_it_looks_for() -> None:
    # The patterns themselves, so a typo in them cannot make the test above pass vacuously.
    assert FORBIDDEN.search("see ../" + SIBLING + "/vectors/")
    assert FORBIDDEN.search('Path(__file__).parents[3] / "' + SIBLING + '" / "vectors"')
    assert FORBIDDEN.search("the order of checks of DES" + "IGN §1")
    assert not FORBIDDEN.search("buckets shared by every API process")

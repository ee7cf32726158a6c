"""Counts the fuzz cases run and reports them at the end of the session."""

from __future__ import annotations

from collections import Counter

import pytest

CASES: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        total = sum(CASES.values())
        terminalreporter.write_sep("-", f"fuzz: {total} cases through the whole request path")
        for name, count in sorted(CASES.items()):
            terminalreporter.write_line(f"  {name}: {count}")

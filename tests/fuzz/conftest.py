"""Counts the fuzz cases run and reports them at the end of the session; the examples per
property of the authenticated fuzzing (``STREAMPANEL_FUZZ_EXAMPLES``, default 60: a quick run;
raise it for a long one)."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

CASES: Counter[str] = Counter()

FUZZ = settings(
    max_examples=int(os.environ.get("STREAMPANEL_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        total = sum(CASES.values())
        terminalreporter.write_sep("-", f"fuzz: {total} cases through the whole request path")
        for name, count in sorted(CASES.items()):
            terminalreporter.write_line(f"  {name}: {count}")

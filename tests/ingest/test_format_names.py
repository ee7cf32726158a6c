"""One name per log format: settings and collectors take the ingester's names; the HLS
collector's earlier spellings are read as those, saying so in the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from streampanel.ingest import format_names
from streampanel.ingest.formats import FORMATS, make_parser, request_reader
from streampanel.settings import AccessLogSettings, HlsCollectorSettings


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each deprecated spelling is logged once per process: start from none logged.
    monkeypatch.setattr(format_names, "_warned", set())


def test_every_format_has_one_name_and_a_parser() -> None:
    assert FORMATS == ("nginx-combined", "nginx-json", "wowza")
    for name in FORMATS:
        make_parser(name, r"^/([^/?#]+)")
    for name in format_names.REQUEST_FORMATS:
        request_reader(name)
    with pytest.raises(ValueError, match="per session event"):
        request_reader("wowza")
    with pytest.raises(ValueError, match="unknown log format 'combined'"):
        request_reader("combined")


def test_earlier_spellings_are_read_with_a_deprecation_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert format_names.format_name("json") == "nginx-json"
    assert format_names.format_name("combined") == "nginx-combined"
    assert [r.getMessage() for r in caplog.records] == [
        "log format 'json' is deprecated: use 'nginx-json'",
        "log format 'combined' is deprecated: use 'nginx-combined'",
    ]
    caplog.clear()
    assert format_names.format_name("json") == "nginx-json"
    assert caplog.records == []  # once per process
    for name in (*FORMATS, "other"):
        assert format_names.format_name(name) == name
    assert caplog.records == []


def test_settings_default_to_the_names() -> None:
    assert HlsCollectorSettings(server="HML", log=Path("x")).format == "nginx-combined"
    assert AccessLogSettings(server="E", path=Path("x")).format == "nginx-combined"

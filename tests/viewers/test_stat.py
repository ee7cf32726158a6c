"""The /stat parser counts players only, never relays or the publisher, and keeps no address."""

from __future__ import annotations

from pathlib import Path

import pytest

from streampanel.store.viewers import StreamCount
from streampanel.viewers.stat import StatFormatError, parse_stat

FIXTURES = Path(__file__).parent / "fixtures"


def test_counts_players_not_publisher_nor_relays() -> None:
    counts = parse_stat((FIXTURES / "stat_nginx_rtmp.xml").read_bytes())
    assert counts == [
        # nclients is 5 (publisher, 2 players, a push relay, an APSH repeater): 2 viewers.
        StreamCount("_defaultVHost_", "demo-live", "cam1", 2),
        StreamCount("_defaultVHost_", "demo-live", "cam2", 0),
        StreamCount("_defaultVHost_", "demo-vod", "movie.mp4", 1),
    ]


def test_no_address_reaches_the_counts() -> None:
    counts = parse_stat((FIXTURES / "stat_nginx_rtmp.xml").read_bytes(), vhost="edge")
    text = repr(counts)
    assert "SECRETKEY" not in text
    assert "198.51.100" not in text
    assert {c.vhost for c in counts} == {"edge"}


def test_falls_back_to_nclients_minus_publisher_and_says_so() -> None:
    counts = parse_stat((FIXTURES / "stat_no_clients.xml").read_bytes())
    assert counts == [
        StreamCount("_defaultVHost_", "demo-live", "cam1", 3, estimated=True),
        StreamCount("_defaultVHost_", "demo-live", "idle", 0, estimated=False),
        StreamCount("_defaultVHost_", "demo-live", "relayed-in", 3, estimated=True),
    ]


def test_http_flv_root_and_unknown_elements() -> None:
    counts = parse_stat((FIXTURES / "stat_http_flv.xml").read_bytes())
    assert counts == [StreamCount("_defaultVHost_", "demo-live", "cam1", 2)]


def test_relay_by_address_url_even_with_a_player_flashver() -> None:
    document = (
        "<rtmp><server><application><name>a</name><live><stream><name>s</name>"
        "<client><address>rtmp://edge.example/a/s</address><flashver>LNX 9</flashver></client>"
        "<client><address>192.0.2.1</address><flashver>LNX 9</flashver></client>"
        "</stream></live></application></server></rtmp>"
    )
    assert parse_stat(document) == [StreamCount("_defaultVHost_", "a", "s", 1)]


def test_empty_server_has_no_streams() -> None:
    assert parse_stat("<rtmp><nginx_version>1</nginx_version><server/></rtmp>") == []


@pytest.mark.parametrize("document", ["<html><body>502</body></html>", "not xml", ""])
def test_other_documents_are_refused(document: str) -> None:
    with pytest.raises(StatFormatError):
        parse_stat(document)

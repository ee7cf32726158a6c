"""What a ticket allows, without the store: patterns, IP rules and binding, keys, dates,
session and segment links, publisher passwords."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import pytest

from streampanel.tickets import rules
from streampanel.tickets.dates import NULL_DATE, format_date, parse_expiry
from streampanel.tickets.links import SessionSigner, segment_token
from streampanel.tickets.passwords import hash_password, verify_password


@pytest.mark.parametrize(
    "patterns,value,expected",
    [
        ("mystream", "mystream", True),
        ("mystream", "mystream_720p", False),
        ("mystream_*", "mystream_720p", True),
        ("my_video.mp4|my_folder/*", "my_folder/sub/a.mp4", True),
        ("my_video.mp4|my_folder/*", "my_video.mp4", True),
        ("my_video.mp4|my_folder/*", "my_videoXmp4", False),
        ("*", "anything/at/all", True),
        ("a*b", "a-middle-b", True),
        ("a*b", "a-middle-c", False),
        ("Cam", "cam", False),
        ("cam[1]", "cam[1]", True),
        ("cam?", "cam1", False),
    ],
)
def test_patterns(patterns: str, value: str, expected: bool) -> None:
    assert rules.matches(patterns, value) is expected


def test_fixed_rules() -> None:
    rule = rules.IpRule.parse("192.168.0.0/24|10.1.2.3")
    assert rule.admit("192.168.0.77") is rule
    assert rule.admit("10.1.2.3") is rule
    assert rule.admit("10.1.2.4") is None
    assert rule.admit("not an address") is None
    anyone = rules.IpRule.parse("0.0.0.0/0")
    assert anyone.admit("203.0.113.9") is anyone
    # An IPv4 rule refuses IPv6 viewers, an IPv4-mapped address is its IPv4.
    assert anyone.admit("2001:db8::1") is None
    assert anyone.admit("::ffff:203.0.113.9") is anyone


def test_auto_binds_the_first_address_or_network() -> None:
    rule = rules.IpRule.parse("auto/24")
    bound = rule.admit("203.0.113.77")
    assert bound is not None and bound.text == "203.0.113.0/24"
    assert bound.admit("203.0.113.5") is bound
    assert bound.admit("203.0.114.5") is None

    single = rules.IpRule.parse("auto").admit("198.51.100.7")
    assert single is not None and single.text == "198.51.100.7"
    assert single.admit("198.51.100.8") is None


def test_auto_entries_bind_successive_networks() -> None:
    rule = rules.IpRule.parse("auto/24|auto/24")
    first = rule.admit("203.0.113.1")
    assert first is not None and first.text == "203.0.113.0/24|auto/24"
    second = first.admit("198.51.100.1")
    assert second is not None and second.text == "203.0.113.0/24|198.51.100.0/24"
    assert second.admit("192.0.2.1") is None
    assert second.admit("198.51.100.200") is second


def test_ipv6_viewers_bind_their_network() -> None:
    bound = rules.IpRule.parse("auto/24").admit("2001:db8:1:2::5")
    assert bound is not None and bound.text == "2001:db8:1:2::/64"
    exact = rules.IpRule.parse("auto").admit("2001:db8::5")
    assert exact is not None and exact.text == "2001:db8::5"


@pytest.mark.parametrize("text", ["", "|", "auto/33", "1.2.3.4/40", "somewhere", "auto/x"])
def test_bad_rules(text: str) -> None:
    with pytest.raises(ValueError):
        rules.IpRule.parse(text)


def test_keys() -> None:
    key = rules.new_key("foo*")
    prefix, random_hex, digits = key.split(".")
    assert prefix == "foo_" and len(random_hex) == 32 and len(digits) == 8
    assert rules.new_key("sestore1/demo/a.mp4|b").startswith("sestore1_demo_a_mp4.")
    assert rules.new_key("").startswith("sevu.")


def test_dates() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0)
    assert format_date(None) == NULL_DATE == "0000-00-00 00:00:00"
    assert format_date(now) == "2026-03-01 12:00:00"
    assert parse_expiry("+1 week", now) == datetime(2026, 3, 8, 12, 0, 0)
    assert parse_expiry("2026-03-01 13:05", now) == datetime(2026, 3, 1, 13, 5)
    for bad in ("", "tomorrow", "²", "2026-13-01", 10**20, None, 1.5, "1" * 65):
        with pytest.raises(ValueError):
            parse_expiry(bad, now)


def test_sessions_are_bound_to_the_address() -> None:
    signer = SessionSigner(b"k" * 32)
    token = signer.issue(42, 1800000000, 1700000000, "203.0.113.7")
    session = signer.verify(token, "203.0.113.7")
    assert session is not None
    assert (session.ticket_id, session.expires, session.started) == (42, 1800000000, 1700000000)
    assert signer.verify(token, "203.0.113.8") is None
    assert SessionSigner(b"j" * 32).verify(token, "203.0.113.7") is None
    forged = token.replace("1800000000", "1900000000")
    assert signer.verify(forged, "203.0.113.7") is None
    for junk in ("", "1.2.3", "a.b.c.d", "1.2.3." + "A" * 200, "١.2.3.x"):
        assert signer.verify(junk, "203.0.113.7") is None


def test_segment_tokens_are_nginx_secure_link_md5() -> None:
    token = segment_token("s3cret", 1800000000, "live", "cam", "127.0.0.1")
    digest = hashlib.md5(b"1800000000 live/cam 127.0.0.1 s3cret").digest()
    assert token == base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_publisher_passwords() -> None:
    stored = hash_password("pw")
    assert stored != hash_password("pw")  # salted
    assert verify_password("pw", stored)
    assert not verify_password("pw ", stored)
    assert not verify_password("pw", "scrypt$99$8$1$AAAA$AAAA")
    assert not verify_password("pw", "plain")

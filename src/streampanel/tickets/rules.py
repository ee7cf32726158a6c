"""What a ticket allows, decided without the store: application and video patterns, IP rules
with their binding on first use, ticket keys, and the reasons a decision gives.

Patterns are ``|``-separated lists in which ``*`` matches any run of characters, ``/``
included (``my_folder/*`` covers sub-folders); matching is case-sensitive, like the paths
nginx serves.  An IP rule is a ``|``-separated list of addresses, CIDR networks (``0.0.0.0/0``
is anyone), ``auto`` and ``auto/N``: an ``auto`` entry is bound on the first allowed start to
the viewer's address (``auto``) or network (``auto/N``), and the bound form replaces it in
the stored rule, so ``sevu.status`` shows ``203.0.113.0/24`` where ``auto/24`` was.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SEPARATOR = "|"

# Reasons of refused decisions.  The first three are the original's words (clients match
# on them); the others name the remaining conditions as plainly.
INVALID_AUTH = "Invalid Auth Token"
INVALID_IP = "Invalid IP Address"
EXPIRED = "Expiration date surpassed"
REVOKED = "Ticket Revoked"
USED_UP = "Maximum uses reached"
INVALID_APP = "Invalid Application"
INVALID_VIDEO = "Invalid Video"
INVALID_SESSION = "Invalid Session"
# An allowed decision has no reason to give.
ALLOWED = ""

# IPv6 viewers: ``auto`` binds the address, ``auto/N`` (N < 32) the /64 a home or mobile
# network gets; an IPv4 prefix length means nothing for IPv6.
IPV6_NETWORK_PREFIX = 64


@lru_cache(maxsize=4096)
def _pattern_regex(text: str) -> re.Pattern[str]:
    alternatives = (".*".join(map(re.escape, entry.split("*"))) for entry in text.split("|"))
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.S)


def split_patterns(text: str) -> list[str]:
    """The non-empty entries of a ``|``-separated list."""
    return [entry for entry in text.split(SEPARATOR) if entry]


def matches(patterns: str, value: str) -> bool:
    """Whether ``value`` matches one entry of the ``|``-separated ``patterns``."""
    return _pattern_regex(patterns).fullmatch(value) is not None


def _network_text(network: Network) -> str:
    # A single address reads as the address, as it was given.
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def client_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A viewer's address; IPv4-mapped IPv6 (``::ffff:1.2.3.4``) as the IPv4 it is."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class IpEntry:
    # None for an ``auto`` entry not bound yet.
    network: Network | None
    # For ``auto`` entries: the IPv4 prefix length to bind (32 for plain ``auto``).
    auto_prefix: int | None = None

    @property
    def text(self) -> str:
        if self.network is not None:
            return _network_text(self.network)
        return "auto" if self.auto_prefix == 32 else f"auto/{self.auto_prefix}"

    def bound_to(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> IpEntry:
        assert self.auto_prefix is not None
        if isinstance(address, ipaddress.IPv4Address):
            prefix = self.auto_prefix
        else:
            prefix = 128 if self.auto_prefix == 32 else IPV6_NETWORK_PREFIX
        return IpEntry(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


_AUTO = re.compile(r"^auto(?:/([0-9]{1,2}))?$")


def _entry(text: str) -> IpEntry:
    auto = _AUTO.match(text)
    if auto:
        prefix = int(auto[1]) if auto[1] is not None else 32
        if prefix > 32:
            raise ValueError("auto prefix beyond 32")
        return IpEntry(None, prefix)
    return IpEntry(ipaddress.ip_network(text, strict=False))


@dataclass(frozen=True)
class IpRule:
    entries: tuple[IpEntry, ...]

    @classmethod
    def parse(cls, text: str) -> IpRule:
        """A rule from its text; ``ValueError`` when an entry is none of the forms."""
        entries = tuple(_entry(part.strip()) for part in text.split(SEPARATOR) if part.strip())
        if not entries:
            raise ValueError("empty IP rule")
        return cls(entries)

    @property
    def text(self) -> str:
        return SEPARATOR.join(entry.text for entry in self.entries)

    def admit(self, address_text: str) -> IpRule | None:
        """The rule after admitting a start from ``address_text``: itself when a bound entry
        covers the address, the rule with its first unbound ``auto`` entry bound to the
        address otherwise, or None when the address is refused."""
        try:
            address = client_address(address_text)
        except ValueError:
            return None
        for entry in self.entries:
            if entry.network is not None and address in entry.network:
                return self
        for index, entry in enumerate(self.entries):
            if entry.network is None:
                bound = entry.bound_to(address)
                return IpRule((*self.entries[:index], bound, *self.entries[index + 1 :]))
        return None


@lru_cache(maxsize=4096)
def parse_ip_rule(text: str) -> IpRule:
    return IpRule.parse(text)


_KEY_PREFIX_JUNK = re.compile(r"[^A-Za-z0-9_-]")
KEY_PREFIX_LENGTH = 40


def new_key(video: str) -> str:
    """A ticket key in the original's dotted form, ``<video>.<hex>.<digits>``.

    The prefix is the first video pattern with anything but letters, digits, ``-`` and
    ``_`` turned into ``_`` (``foo*`` gives ``foo_``), so keys stay readable in logs; the
    128 random bits after it are what makes a key unguessable.
    """
    first = split_patterns(video)[0] if split_patterns(video) else ""
    prefix = _KEY_PREFIX_JUNK.sub("_", first)[:KEY_PREFIX_LENGTH] or "sevu"
    return f"{prefix}.{secrets.token_hex(16)}.{secrets.randbelow(10**8):08d}"

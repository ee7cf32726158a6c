"""Parse nginx-rtmp's ``/stat`` XML (and the nginx-http-flv fork's) into viewer counts.

Pure: bytes in, :class:`StreamCount` list out.  The document looks like::

    <rtmp>                                    (<http-flv> in nginx-http-flv)
      <server>
        <application><name>live</name>
          <live>                              (<play> for VOD)
            <stream><name>cam1</name> ...
              <client><id/><address/><flashver/> ... <publishing/>?</client>
              <nclients>3</nclients><publishing/>?
            </stream>
          </live>
        </application>
      </server>
    </rtmp>

Viewers are the stream's ``<client>`` elements that are neither the publisher nor a relay.
``<nclients>`` counts the publisher and every push relay too, so it is only a fallback, used
(minus the publisher) when the server lists no clients, and the count is marked estimated.
A client's ``<address>`` is never kept: a relay's is its push URL, stream key included.
Unknown elements are ignored wherever they appear.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from streampanel.store.viewers import StreamCount

DEFAULT_VHOST = "_defaultVHost_"
ROOTS = {"rtmp", "http-flv"}
# Relay sessions nginx-rtmp creates itself (push/pull), and Adobe/ScaleEngine-style
# stream-repeater clients.
RELAY_FLASHVER = "ngx-local-relay"
RELAY_FLASHVER_PREFIX = "APSH"


class StatFormatError(ValueError):
    """The document is not an nginx-rtmp statistics document."""


def _text(element: ET.Element | None, tag: str) -> str:
    if element is None:
        return ""
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def is_relay(client: ET.Element) -> bool:
    flashver = _text(client, "flashver")
    if flashver == RELAY_FLASHVER or flashver.startswith(RELAY_FLASHVER_PREFIX):
        return True
    # A push relay's address is the URL it pushes to; a player's is an IP address.
    return "://" in _text(client, "address")


def _count_stream(stream: ET.Element) -> tuple[int, bool]:
    clients = stream.findall("client")
    if clients:
        viewers = sum(1 for c in clients if c.find("publishing") is None and not is_relay(c))
        return viewers, False
    nclients_text = _text(stream, "nclients")
    # ASCII digits only ('²'.isdigit() is true), and no more than a 32-bit count.
    fits = nclients_text.isascii() and nclients_text.isdigit() and len(nclients_text) <= 9
    nclients = int(nclients_text) if fits else 0
    if nclients == 0:
        return 0, False
    publisher = 1 if stream.find("publishing") is not None else 0
    return max(nclients - publisher, 0), True


def parse_stat(document: bytes | str, vhost: str = DEFAULT_VHOST) -> list[StreamCount]:
    """Viewer counts per (app, stream) of one ``/stat`` document, in document order."""
    try:
        root = ET.fromstring(document)  # noqa: S314
    except ET.ParseError as exc:
        raise StatFormatError(f"not XML: {exc}") from None
    if root.tag not in ROOTS:
        raise StatFormatError(f"unexpected root element <{root.tag}>")
    counts: list[StreamCount] = []
    for application in root.iter("application"):
        app = _text(application, "name")
        if not app:
            continue
        for section in application:
            # <live> and <play> hold streams; anything else (<recorders>, ...) is skipped.
            for stream in section.findall("stream"):
                name = _text(stream, "name")
                if not name:
                    continue
                viewers, estimated = _count_stream(stream)
                counts.append(StreamCount(vhost, app, name, viewers, estimated))
    return counts

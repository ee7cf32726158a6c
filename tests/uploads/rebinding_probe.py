"""DNS rebinding against a real connection, in a network namespace of the probe's own.

Run by ``test_callbacks.py`` as ``unshare --user --map-root-user --net`` after
``ip addr add 93.184.215.14/32 dev lo``: inside, that public-looking address and 127.0.0.1
are both this namespace's loopback, and nothing can leave it (it has no other interface).
A receiver listens on each, on the same port; the resolver (the one thing not real here)
answers the public address to the first look-up and 127.0.0.1 to any later one, as a
rebinding name with a zero TTL would.  Prints one JSON line of what each receiver got.
"""

from __future__ import annotations

import ipaddress
import json

from streampanel.uploads import callbacks
from tests.support.postgres import free_port
from tests.uploads.receiver import Receiver

PUBLIC = "93.184.215.14"
SECRET = "probe-secret"


def main() -> None:
    port = free_port()
    public = Receiver(SECRET, host=PUBLIC, port=port)
    loopback = Receiver(SECRET, host="127.0.0.1", port=port)
    looked_up: list[str] = []

    def rebinding(host: str, port: int) -> list[callbacks.Address]:
        looked_up.append(host)
        return [ipaddress.ip_address(PUBLIC if len(looked_up) == 1 else "127.0.0.1")]

    callbacks.resolve = rebinding

    def deliver() -> callbacks.Delivery:
        return callbacks.deliver(
            f"http://rebind.test:{port}/hook",
            b'{"id":1}',
            secret=SECRET,
            api_key="probe-key",
            event_id="evt_probe",
            allow_private=False,
            timeout=10,
        )

    first = deliver()
    look_ups_by_first = len(looked_up)
    second = deliver()
    public.stop()
    loopback.stop()
    print(
        json.dumps(
            {
                "first": [first.outcome, first.http_status],
                "second": [second.outcome, second.message],
                "look_ups_by_first": look_ups_by_first,
                "public_hosts": [r["headers"].get("Host") for r in public.received],
                "public_valid": [r["valid"] for r in public.received],
                "loopback_requests": len(loopback.received),
            }
        )
    )


if __name__ == "__main__":
    main()

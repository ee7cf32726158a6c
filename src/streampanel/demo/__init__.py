"""The demo account: the documentation's example credentials, applications, servers and
storage users, then real data produced by the real ingestion paths (one populator per
feature, run in order; each is idempotent).

The documentation's credentials are public: they exist only in demo mode.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from sqlalchemy import select

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.tables import api_keys

DEMO_CDN = 158
DEMO_API_KEY = "APX4GKLM0RKQLSP2FBO1ROPKSSW47DZE"
# Public: printed in the API documentation, usable only in demo mode.
DEMO_SECRET = "8fc8c48da81e6a2a06a9556379bf798af508dc0792497c678b4c3532ba8b637f"  # noqa: S105
DEMO_APPLICATIONS = ["demo-origin", "demo-live", "demo-vod", "demo-events"]
# name -> location
DEMO_SERVERS = {"HML": "Hamilton, CA", "FRA": "Frankfurt, DE", "NYC": "New York, US"}
DEMO_STORAGE_USERS = ["demo", "jb"]

# Feature populators: each takes the runtime and fills the demo account with real data by
# the feature's real code path.  A module of this package registers one with @populator.
Populator = Callable[[Runtime], None]
POPULATORS: list[Populator] = []


def populator(func: Populator) -> Populator:
    POPULATORS.append(func)
    return func


def _load_populators() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")


def seed_account(runtime: Runtime) -> bool:
    """Create the demo account once; returns True when it was created now."""
    with write_transaction(runtime.engine) as conn:
        if accounts.get_account(conn, DEMO_CDN) is not None:
            exists = conn.execute(
                select(api_keys.c.id).where(api_keys.c.api_key == DEMO_API_KEY)
            ).first()
            if exists:
                return False
        else:
            accounts.create_account(conn, DEMO_CDN, "Demo account")
        accounts.create_api_key(
            conn, runtime.box, DEMO_CDN, api_key=DEMO_API_KEY, secret=DEMO_SECRET, label="demo"
        )
        for name in DEMO_APPLICATIONS:
            accounts.create_application(conn, DEMO_CDN, name)
        for name, location in DEMO_SERVERS.items():
            accounts.get_or_create_server(conn, name, location)
        for name in DEMO_STORAGE_USERS:
            accounts.create_storage_user(conn, DEMO_CDN, name)
    return True


def setup_demo(runtime: Runtime, progress: Callable[[str], None] = lambda _msg: None) -> None:
    progress("demo account (cdn 158, the documentation's example key)")
    seed_account(runtime)
    _load_populators()
    for populate in POPULATORS:
        progress(populate.__doc__.splitlines()[0] if populate.__doc__ else populate.__name__)
        populate(runtime)

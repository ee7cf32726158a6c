"""``streampanel migrate``: bring the store's schema to this release (the one step running DDL).

Every other command waits for the schema instead of changing it (on PostgreSQL; see the
``migrate_on_start`` setting), so a fleet upgrades by running this once, then restarting its
processes.  It also records the master key's check value, which needs the key.
"""

from __future__ import annotations

import typer
from sqlalchemy.exc import ProgrammingError

from streampanel.cli.output import console, fail, user_errors
from streampanel.cli.store import announce_store
from streampanel.secretbox import load_secret_box
from streampanel.settings import Settings
from streampanel.store.engine import SCHEMA_HEADS, create_store_engine
from streampanel.store.keycheck import ensure_master_key
from streampanel.store.schema import migrate_schema, schema_status

# PostgreSQL's SQLSTATE for "permission denied": the migration ran as a role without DDL
# rights (the application role, say).
_INSUFFICIENT_PRIVILEGE = "42501"


def migrate(
    check: bool = typer.Option(
        False, "--check", help="Only say whether the schema is current; exit 1 when it is not."
    ),
) -> None:
    """Bring the store's schema to this release's revisions, under the store's migration lock."""
    with user_errors():
        settings = Settings()
        announce_store(settings)
        engine = create_store_engine(settings.resolved_database_url)
        try:
            if check:
                status = schema_status(engine)
                console.print(status.describe(), highlight=False)
                if not status.current:
                    raise typer.Exit(1)
                return
            # The key first: a missing one fails before anything changes.
            box = load_secret_box(settings)
            try:
                before = migrate_schema(engine)
            except ProgrammingError as exc:
                if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
                    raise
                first_line = str(exc.orig).splitlines()[0]
                fail(
                    f"the store refused the migration ({first_line}): run it as the role "
                    "that owns the schema (the migrator role of docs/deploy.md)"
                )
            ensure_master_key(engine, box)
        finally:
            engine.dispose()
    heads = ", ".join(sorted(SCHEMA_HEADS))
    if before.current:
        console.print(f"schema already current ({heads})", highlight=False)
    else:
        was = ", ".join(sorted(before.revisions)) or "empty"
        console.print(f"schema migrated: {was} -> {heads}", highlight=False)

from contextlib import nullcontext

from alembic import context

from streampanel.store.tables import metadata

# streampanel.store.schema passes the connection holding the migration lock, inside its
# transaction; anything else (tests stepping through revisions) passes only the engine.
given = context.config.attributes.get("connection")
engine = context.config.attributes["engine"]

with nullcontext(given) if given is not None else engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()

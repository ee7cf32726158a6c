"""The master key's check value: proof, kept in the store, of which key sealed its secrets."""

from sqlalchemy import Column, DateTime, Integer, Table, Text

from streampanel.store.tables.base import metadata

# One row (id 1): a known text sealed with the master key by the first process that started
# on this store.  A process whose key cannot open it holds a different key.
master_key_check = Table(
    "master_key_check",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sealed", Text, nullable=False),
    Column("created", DateTime, nullable=False),
)

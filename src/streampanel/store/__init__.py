"""The store: SQLAlchemy Core tables, engine set-up and migrations, query modules.

Query functions take a ``Connection``; the caller owns the transaction.  Nothing here knows
about HTTP.
"""


class StoreRefused(Exception):
    """This process must not use the store as it stands (its schema is another release's,
    or it was sealed with another master key); the message says why in one line."""

"""The store: SQLAlchemy Core tables, engine set-up and migrations, query modules.

Query functions take a ``Connection``; the caller owns the transaction.  Nothing here knows
about HTTP.
"""

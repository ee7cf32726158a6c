from sqlalchemy import BigInteger, Integer, MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Account ids are CDN ids chosen by the operator: 64-bit on PostgreSQL, SQLite's INTEGER.
AccountId = BigInteger().with_variant(Integer, "sqlite")

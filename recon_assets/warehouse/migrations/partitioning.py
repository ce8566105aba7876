"""Moving a table's rows into day partitions and back, for the migrations that partition tables by day (0017,
0019). Migrations are history: what they call here must keep doing what it did for them."""

from alembic import op


def move_aside(table: str, into_key: str, partitioned: str, indexes: dict[str, str]) -> None:
    """Rename the table aside, make its replacement (``partitioned``: ``PARTITION BY ...`` or nothing) with
    the same columns, checks, defaults and storage, keyed by ``into_key``."""
    renames = "".join(f"ALTER INDEX {name} RENAME TO {name}_aside;" for name in indexes)
    created = "".join(f"CREATE INDEX {name} ON {table} ({columns});" for name, columns in indexes.items())
    op.execute(
        f"""ALTER TABLE {table} RENAME TO {table}_aside;
            ALTER TABLE {table}_aside RENAME CONSTRAINT {table}_pkey TO {table}_aside_pkey;
            {renames}
            CREATE TABLE {table} (LIKE {table}_aside INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
                {partitioned};
            ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({into_key});
            {created}"""
    )


def fill_from_aside(table: str) -> None:
    """Move the rows set aside into the replacement, and drop the old table."""
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_aside; DROP TABLE {table}_aside;")  # noqa: S608  # nosec B608 - names from the migrations

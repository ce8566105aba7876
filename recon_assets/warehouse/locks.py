"""PostgreSQL advisory locks: one run per partition at a time, one creator of Dagster's tables at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg

from recon_assets.warehouse.urls import DatabaseUrl


def lock_partition(conn: psycopg.Connection, *parts: object) -> None:
    """Hold the partition's lock until the transaction ends: a second run of the same partition waits for
    the first to commit, then does its work on what the first left, instead of colliding with it."""
    key = "recon:" + "/".join(str(p) for p in parts)
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


@contextlib.contextmanager
def session_lock(url: DatabaseUrl, name: str) -> Iterator[None]:
    """Hold the lock called ``name`` on a connection of its own while the block runs."""
    with psycopg.connect(url.libpq, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))

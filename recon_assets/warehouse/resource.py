"""The warehouse as a Dagster resource."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import dagster as dg
import psycopg

from recon_assets.environment import misconfigured
from recon_assets.warehouse.database import connect, prepared_url
from recon_assets.warehouse.urls import ConfigurationError, DatabaseUrl


class WarehouseResource(dg.ConfigurableResource):
    """PostgreSQL warehouse. ``database_url`` comes from RECON_DATABASE_URL; unset, the embedded server."""

    database_url: str | None = None

    def url(self) -> DatabaseUrl:
        try:
            return prepared_url(self.database_url)
        except ConfigurationError as exc:
            raise misconfigured(str(exc)) from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with connect(self.url()) as conn:
            yield conn

    def read_concurrently(self, reads: Mapping[str, Callable[[psycopg.Connection], Any]], workers: int = 2):
        """Each read on a connection of its own, ``workers`` at a time, so the server runs independent scans
        at once; the answers by name."""

        def read(query: Callable[[psycopg.Connection], Any]) -> Any:
            with self.connection() as conn:
                return query(conn)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read") as readers:
            return dict(zip(reads, readers.map(read, reads.values()), strict=True))

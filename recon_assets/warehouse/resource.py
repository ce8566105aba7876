"""The warehouse as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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

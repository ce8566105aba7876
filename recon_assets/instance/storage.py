"""Dagster's own storage (runs, event log, schedules) in the warehouse's PostgreSQL, with nothing to set.

The repository's ``dagster.yaml`` names these classes, so ``dagster dev``, ``dagster asset materialize``
and ``recon`` all keep Dagster's records where the warehouse is: ``RECON_DAGSTER_STORAGE_URL`` when set,
else the warehouse's own URL (``RECON_DATABASE_URL`` or its parts), else the embedded server under the
instance home. They are dagster-postgres's storages; only where the URL comes from differs.
"""

from __future__ import annotations

import os
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.event_log.schema import ConcurrencyLimitsTable
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from sqlalchemy.dialects import postgresql

from recon_assets.warehouse.database import check_reachable, configured_url
from recon_assets.warehouse.locks import session_lock
from recon_assets.warehouse.urls import DatabaseUrl

STORAGE_URL_VAR = "RECON_DAGSTER_STORAGE_URL"


# one process creates Dagster's tables at a time: dagster-postgres creates its tables and types when it finds
# them missing, and two processes doing so at once on a new database collide ("type ... already exists")
_CREATION_LOCK = "recon:dagster-storage-creation"


def storage_database(configured: str | None = None) -> DatabaseUrl:
    """Where Dagster's storage lives: ``configured``, ``RECON_DAGSTER_STORAGE_URL``, or the warehouse."""
    raw = configured or os.environ.get(STORAGE_URL_VAR)
    if raw:
        return DatabaseUrl.parse(raw, variable=STORAGE_URL_VAR)
    url = configured_url()
    check_reachable(url)
    return url


class _WarehouseStorage:
    """Configured by an optional ``postgres_url``; without one, the warehouse's URL."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"postgres_url": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value: dict[str, Any]):
        url = storage_database(config_value.get("postgres_url"))
        with session_lock(url, _CREATION_LOCK):  # the second waits, then finds everything made
            return cls(postgres_url=url.dagster_storage, inst_data=inst_data)


class WarehouseRunStorage(_WarehouseStorage, PostgresRunStorage):
    """Runs, in the warehouse's PostgreSQL."""


class WarehouseEventLogStorage(_WarehouseStorage, PostgresEventLogStorage):
    """Events, check evaluations and concurrency slots, in the warehouse's PostgreSQL."""

    def initialize_concurrency_limit_to_default(self, concurrency_key: str) -> bool:
        """Give a pool the instance's default limit, atomically.

        Dagster's own version inserts the pool's row and, when the insert fails, updates it in the same
        transaction: on PostgreSQL the failed insert has already aborted that transaction, so two runs
        starting the same new pool at once (or any run after the default limit changed) fail. An upsert
        does it in one statement, leaves a limit someone set by hand alone, and holds the pool's row
        until commit, so concurrent callers allocate its slots one after the other.
        """
        default_limit = self._instance.global_op_concurrency_default_limit if self.has_instance else None
        if default_limit is None or not self.has_default_pool_limit_col:
            return super().initialize_concurrency_limit_to_default(concurrency_key)
        limits = ConcurrencyLimitsTable
        upsert = (
            postgresql.insert(limits)
            .values(concurrency_key=concurrency_key, limit=default_limit, using_default_limit=True)
            .on_conflict_do_update(
                index_elements=[limits.c.concurrency_key],
                set_={"limit": default_limit},
                where=limits.c.using_default_limit,
            )
            .returning(limits.c.limit)
        )
        with self.index_transaction() as conn:
            row = conn.execute(upsert).fetchone()
            if row is not None:  # the pool follows the default: its slots follow its limit
                self._allocate_concurrency_slots(conn, concurrency_key, row[0])
        return True


class WarehouseScheduleStorage(_WarehouseStorage, PostgresScheduleStorage):
    """Schedule and sensor state, in the warehouse's PostgreSQL."""

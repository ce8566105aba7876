"""Old days out of the hot database and back, from the Dagster UI's launchpad: ``archive_days`` (every day
before a date) and ``restore_day`` (one day), the same work as ``recon archive`` and ``recon restore``."""

from datetime import date

import dagster as dg

from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.services import archive as day_archive
from recon_assets.services.archive import ArchiveError
from recon_assets.warehouse.resource import WarehouseResource


class ArchiveConfig(dg.Config):
    before: str  # YYYY-MM-DD: every day before it leaves the database
    actor: str


class RestoreConfig(dg.Config):
    date: str  # YYYY-MM-DD: the archived day to bring back
    actor: str


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise dg.Failure(f"{field}: not a date: {text!r} (YYYY-MM-DD)", allow_retries=False) from None


@dg.op(description="Copy each day before `before` to Parquet in the report store, verify and audit it, then "
       "drop its partitions.")  # fmt: skip
def archive_old_days(context: dg.OpExecutionContext, config: ArchiveConfig, warehouse: WarehouseResource,
                     report_store: ReportStore) -> list[str]:  # fmt: skip
    try:
        days = day_archive.archive_before(warehouse.url(), report_store, _day(config.before, "before"), config.actor,
                              context.run_id)  # fmt: skip
    except ArchiveError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    context.log.info(f"archived {len(days)} day(s) before {config.before}")
    return [day.isoformat() for day in days]


@dg.op(description="Bring an archived day back into the database from its verified copies.")
def restore_archived_day(context: dg.OpExecutionContext, config: RestoreConfig, warehouse: WarehouseResource,
                         report_store: ReportStore) -> dict[str, int]:  # fmt: skip
    try:
        day = _day(config.date, "date")
        restored = day_archive.restore_day(warehouse.url(), report_store, day, config.actor, context.run_id)
    except ArchiveError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    context.log.info(f"restored {config.date}: {restored}")
    return restored


@dg.job(description="Archive every day before a date: Parquet copies in the report store, verified and audited; "
        "findings, run summaries, the audit log and open exceptions stay.")  # fmt: skip
def archive_days():
    archive_old_days()


@dg.job(description="Restore an archived day, for a re-run or an audit.")
def restore_day():
    restore_archived_day()

"""Daily partitions, the settlement window, and the automation condition the reconciled days share."""

from __future__ import annotations

import warnings
from datetime import date

import dagster as dg

PARTITIONS_START = "2025-01-01"
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")


def days_around(start_offset: int, end_offset: int) -> dg.TimeWindowPartitionMapping:
    """The days from ``start_offset`` to ``end_offset`` around a day. Days after the last one do not exist
    yet: allowed, on purpose (a parameter Dagster marks beta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(start_offset, end_offset, allow_nonexistent_upstream_partitions=True)


# A day's reconciliation reads the neighbouring days too: payments near midnight are booked across it.
settlement_window = days_around(-1, 1)


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The days a run covers: one, or a range when a backfill (or ``recon run``) fetches several at once."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def refresh_when_inputs_change() -> dg.AutomationCondition:
    """Re-run an already-reconciled day when any input partition it reads changes (a late ledger day).

    Days never materialised are left to the schedule and to backfills; the condition only keeps
    existing days current, so cross-midnight items resolve without anyone acting.
    """
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("refresh when inputs change")

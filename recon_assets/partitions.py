"""Partitions and small Dagster helpers shared by every concern."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

PARTITIONS_START = "2025-01-01"
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")

# A day's reconciliation reads the neighbouring days too: payments near midnight are booked across it.
settlement_window = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
)

OWNERS = ["team:finance-operations"]


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def env_or_none(name: str) -> dg.EnvVar | None:
    """``dg.EnvVar(name)`` when the variable is set; None lets a resource fall back to its default."""
    return dg.EnvVar(name) if os.environ.get(name) else None


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

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

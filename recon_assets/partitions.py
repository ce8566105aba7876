"""Daily partitions, the settlement window, and the automation condition the reconciled days share."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta

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


BACKFILL_TAG = "dagster/backfill"
LANDED_FOR = "landed_for"  # a neighbour's materialisation names the days whose windows needed it


def neighbour_landed(key: dg.AssetKey, day: date, own: list[date], metadata=None) -> dg.AssetMaterialization:
    """A neighbour day landed by a backfill's step, told to Dagster as that day's materialisation."""
    needed_by = {LANDED_FOR: dg.MetadataValue.json([d.isoformat() for d in own])}
    return dg.AssetMaterialization(asset_key=key, partition=day.isoformat(), metadata={**(metadata or {}), **needed_by})


def neighbours_to_land(
    context: dg.AssetExecutionContext, key: dg.AssetKey, window: dg.TimeWindowPartitionMapping
) -> list[date]:
    """In a backfill, the days around the step's own that the backfill's windows read (``window``'s offsets)
    but that it does not target itself: those over, never materialised, for this step to land, and only
    land (their days are not reconciled). Outside a backfill none: ``recon run`` lands the windows itself,
    the schedule's day before was landed the day before, and a day run alone reads what is there (and is
    refreshed as its neighbours land)."""
    backfill_id = context.run.tags.get(BACKFILL_TAG)
    backfill = context.instance.get_backfill(backfill_id) if backfill_id else None
    if backfill is None or backfill.asset_backfill_data is None:
        return []
    targeted = backfill.asset_backfill_data.target_subset.partitions_subsets_by_asset_key.get(key)
    target = set(targeted.get_partition_keys()) if targeted is not None else set()
    own = partition_days(context)
    around = {d + timedelta(days=k) for d in own for k in range(window.start_offset, window.end_offset + 1)}
    first, today = date.fromisoformat(PARTITIONS_START), datetime.now(UTC).date()
    landed = context.instance.get_materialized_partitions(key)
    return sorted(
        d for d in around - set(own)
        if first <= d < today and d.isoformat() not in landed and d.isoformat() not in target
    )  # fmt: skip

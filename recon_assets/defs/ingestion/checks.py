"""Checks on each landed day, evaluated with the materialisation that landed it, on what the warehouse holds.

Only ``data_quality`` is blocking: it stops the day's reconciliation when the day cannot be read (rows
the warehouse cannot use, or most of the feed unreadable), rather than flooding it with false findings.
Everything else is reconciled and flagged: quarantined records (ERROR, each listed with its reason),
unusually large amounts (WARN) and a volume that collapsed against the week before (WARN).
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from recon_assets.defs.ingestion.resources import DataQualitySettings
from recon_assets.domain.money import FxRates
from recon_assets.partitions import daily_partitions
from recon_assets.warehouse import landing
from recon_assets.warehouse.landing import LandingTable
from recon_assets.warehouse.resource import WarehouseResource

DATA_QUALITY = "data_quality"
QUARANTINE = "quarantine"
LARGE_AMOUNTS = "large_amounts"
VOLUME = "volume"

_CHECKS = {
    DATA_QUALITY: ("The day can be read: every landed row has an id and an ISO 4217 currency, and no more than "
                   "the allowed share of the feed was quarantined. Blocking: a day that fails is not reconciled."),
    QUARANTINE: "No record was quarantined. Each one is listed with its reason; the rest of the day is reconciled.",
    LARGE_AMOUNTS: "Movements above the large-amount bound (reporting currency): reconciled, listed for a look.",
    VOLUME: "The day's volume did not collapse against the week before (an outage or a lost feed), and the "
    "ledger did not book too many duplicates.",
}  # fmt: skip


def quality_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name, asset=asset_key, partitions_def=daily_partitions, blocking=name == DATA_QUALITY, description=text
        )
        for name, text in _CHECKS.items()
    ]


def _markdown(frame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "_none_")


def evaluate_quality(
    warehouse: WarehouseResource,
    asset_key: dg.AssetKey,
    table: LandingTable,
    source: str,
    day: date,
    bounds: DataQualitySettings,
    rates: FxRates,
) -> list[dg.AssetCheckResult]:
    # each a scan of the day, the longest first: two at a time, the server runs them at once
    reads = {"duplicates": lambda conn: landing.ledger_duplicate_bookings(conn, day)} if not table.per_processor else {}
    reads |= {
        "counts": lambda conn: landing.landed_counts(conn, table, source, day),
        "average": lambda conn: landing.trailing_daily_average(conn, source, day),
        "large": lambda conn: landing.large_amounts(conn, table, source, day, rates.minor_bounds(bounds.large_amount)),
        "quarantined": lambda conn: landing.quarantined_records(conn, source, day),
    }
    read = warehouse.read_concurrently(reads)
    counts = read["counts"]
    received = counts.rows + counts.quarantined
    quarantined_share = counts.quarantined / received if received else 0.0
    unreadable = {
        "rows_without_id": counts.missing_ids,
        "rows_with_unknown_currency": counts.unknown_currencies,
    }
    too_much_quarantined = quarantined_share > bounds.max_quarantined_share
    results = [
        dg.AssetCheckResult(
            check_name=DATA_QUALITY,
            asset_key=asset_key,
            passed=not any(unreadable.values()) and not too_much_quarantined,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **unreadable,
                "rows": counts.rows,
                "quarantined_share": round(quarantined_share, 4),
                "max_quarantined_share": bounds.max_quarantined_share,
            },
            description="; ".join(
                [f"{v} {k.replace('_', ' ')}" for k, v in unreadable.items() if v]
                + ([f"{quarantined_share:.0%} of the feed quarantined"] if too_much_quarantined else [])
            )
            or None,
        ),  # fmt: skip
        dg.AssetCheckResult(
            check_name=QUARANTINE,
            asset_key=asset_key,
            passed=counts.quarantined == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "quarantined": counts.quarantined,
                "records": _markdown(read["quarantined"]),
            },  # fmt: skip
            description=f"{counts.quarantined} record(s) quarantined, the rest reconciled"
            if counts.quarantined
            else None,
        ),
    ]
    large, largest = read["large"]
    results.append(
        dg.AssetCheckResult(
            check_name=LARGE_AMOUNTS,
            asset_key=asset_key,
            passed=large == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "over_bound": large,
                "bound": f"{bounds.large_amount} {rates.reporting_currency}",
                "largest": _markdown(largest),
            },  # fmt: skip
            description=f"{large} movement(s) above {bounds.large_amount} {rates.reporting_currency}"
            if large
            else None,
        )
    )
    average = read["average"]
    collapsed = average >= bounds.min_weekly_average_for_outage and (
        counts.rows < bounds.min_fraction_of_trailing_average * average
    )
    problems = []
    metadata = {"rows": counts.rows, "previous_7_day_average": round(average, 1),
                "min_fraction_of_trailing_average": bounds.min_fraction_of_trailing_average}  # fmt: skip
    if collapsed:
        problems.append(
            f"{counts.rows} records against {average:.0f} a day the week before: possible outage or lost feed"
        )
    if not table.per_processor:
        duplicates = read["duplicates"]
        rate = duplicates / counts.rows if counts.rows else 0.0
        metadata.update(duplicates=duplicates, duplicate_rate=round(rate, 6))
        if rate > bounds.max_ledger_duplicate_rate:
            problems.append(f"{rate:.1%} of the ledger's entries duplicate another booking")
    results.append(
        dg.AssetCheckResult(
            check_name=VOLUME,
            asset_key=asset_key,
            passed=not problems,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description="; ".join(problems) or None,
        )
    )
    return results

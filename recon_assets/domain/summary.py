"""A reconciled day in one summary row: counts per outcome and finding, amounts in the reporting
currency, the discrepancy rate and the risk level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from recon_assets.domain.findings import finding_type, missing_count, names, rated_count
from recon_assets.domain.matching import MATCHED_OUTCOMES, NOT_BOOKED_FAILED
from recon_assets.domain.money import FxRates
from recon_assets.domain.risk import RiskThresholds

RATE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class DayCounts:
    """What the warehouse holds for one processor's day."""

    processor_records: int
    ledger_entries: int
    outcomes: Mapping[str, int]  # outcome -> records
    open_findings: Sequence[tuple[str, str, int, int]]  # (type, at-risk currency, count, at-risk minor units)
    volume_minor: Mapping[str, int]  # currency -> absolute amount of the records that moved money


def summarise_day(
    day: date, processor: str, counts: DayCounts, rates: FxRates, thresholds: RiskThresholds
) -> dict[str, Any]:
    """The reconciliation_runs row of the day (without its run bookkeeping)."""
    type_counts = dict.fromkeys(names(), 0)
    at_risk_minor: dict[str, int] = {}
    for kind, currency, count, minor in counts.open_findings:
        type_counts[finding_type(kind).name] += count
        at_risk_minor[currency] = at_risk_minor.get(currency, 0) + minor
    missing = missing_count(type_counts)
    at_risk = rates.total(at_risk_minor)
    rate = (
        (Decimal(rated_count(type_counts)) / Decimal(counts.processor_records)).quantize(RATE_QUANTUM)
        if counts.processor_records
        else Decimal(0)
    )
    return {
        "run_date": day,
        "processor_name": processor,
        "processor_transaction_count": counts.processor_records,
        "internal_transaction_count": counts.ledger_entries,
        "matched_count": sum(counts.outcomes.get(outcome, 0) for outcome in MATCHED_OUTCOMES),
        "not_booked_failed_count": counts.outcomes.get(NOT_BOOKED_FAILED, 0),
        "missing_transaction_count": missing,
        "finding_counts": type_counts,  # open findings per type, every type
        "total_discrepancy_amount": at_risk,
        "total_volume_processed": rates.total(counts.volume_minor),
        "reporting_currency": rates.reporting_currency,
        "discrepancy_rate": rate,
        "risk_level": thresholds.level(missing, at_risk),
        "status": "completed",
    }


def match_rate(row: Mapping[str, Any]) -> float:
    """Share of the day's processor records that matched (1.0 for an empty day)."""
    records = row["processor_transaction_count"]
    return row["matched_count"] / records if records else 1.0

"""Checks on reconciliation outputs: the engine's invariants and the day's risk level."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa

from recon_assets.domain.money import display
from recon_assets.domain.risk import RiskLevel, RiskThresholds
from recon_assets.partitions import daily_partitions

INVARIANTS = "reconciliation_invariants"
RISK_THRESHOLD = "risk_threshold"

_SEVERITY = {
    RiskLevel.MEDIUM: dg.AssetCheckSeverity.WARN,
    RiskLevel.HIGH: dg.AssetCheckSeverity.ERROR,
    RiskLevel.CRITICAL: dg.AssetCheckSeverity.ERROR,
}


def invariants_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        INVARIANTS,
        asset=asset_key,
        partitions_def=daily_partitions,
        description="Every processor record has exactly one outcome; no finding lacks a key; amounts at "
        "risk are non-negative.",
    )


def risk_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        RISK_THRESHOLD,
        asset=asset_key,
        partitions_def=daily_partitions,
        description="LOW passes; MEDIUM warns; HIGH and CRITICAL fail with ERROR.",
    )


def evaluate_invariants(
    asset_key: dg.AssetKey, processor_records: int, outcomes: pa.Table, discrepancies: pd.DataFrame
) -> dg.AssetCheckResult:
    distinct = outcomes.group_by(["processor_txn_id", "kind"]).aggregate([]).num_rows  # a record is its id and kind
    problems = {
        "records_without_one_outcome": abs(processor_records - len(outcomes)) + len(outcomes) - distinct,
        "findings_without_key": int(
            (discrepancies["processor_txn_id"].isna() & discrepancies["ledger_id"].isna()).sum()
        ),
        "negative_amounts_at_risk": int((discrepancies["at_risk_minor"] < 0).sum()),
    }
    return dg.AssetCheckResult(
        check_name=INVARIANTS,
        asset_key=asset_key,
        passed=not any(problems.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={**problems, "processor_records": processor_records, "outcomes": len(outcomes)},
    )


def evaluate_risk(
    asset_key: dg.AssetKey,
    level: RiskLevel,
    *,
    missing_count: int,
    amount_at_risk,
    discrepancy_rate: float,
    thresholds: RiskThresholds,
    reporting_currency: str,
    report_uri: str | None,
) -> dg.AssetCheckResult:
    """``report_uri``: the day's discrepancies report, linked only once it has been written."""
    return dg.AssetCheckResult(
        check_name=RISK_THRESHOLD,
        asset_key=asset_key,
        passed=level == RiskLevel.LOW,
        severity=_SEVERITY.get(level, dg.AssetCheckSeverity.WARN),
        description=f"risk level {level.value}: {missing_count} missing, "
        f"{display(amount_at_risk, reporting_currency)} at risk",
        metadata={
            "risk_level": level.value,
            "missing_count": missing_count,
            "amount_at_risk": dg.MetadataValue.float(float(amount_at_risk)),
            "amount_at_risk_exact": display(amount_at_risk, reporting_currency),
            "discrepancy_rate": dg.MetadataValue.float(discrepancy_rate),
            "thresholds": dg.MetadataValue.json(
                {k: str(v) for k, v in thresholds.__dict__.items()} | {"currency": reporting_currency}
            ),
            **({"report": dg.MetadataValue.url(report_uri)} if report_uri else {}),
        },
    )


def not_reconciled(asset_key: dg.AssetKey, check_name: str, reason: str) -> dg.MaterializeResult:
    """A day whose sources are not all landed, told as it is: nothing judged or written, and the day's check
    failed at ERROR (a day not judged is not a passing day) with the one line naming what is missing. Once
    its sources land, the automation reconciles it."""
    return dg.MaterializeResult(
        metadata={"reconciled": False, "not_reconciled": reason},
        check_results=[dg.AssetCheckResult(
            check_name=check_name, asset_key=asset_key, passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description=reason, metadata={"reconciled": False},
        )],
    )  # fmt: skip

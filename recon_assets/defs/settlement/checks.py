"""Checks on a day's settlement: every payout due in the bank arrived, to the cent; fees are the schedule's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import dagster as dg

from recon_assets.domain.settlement import (
    FEE_VARIANCE,
    PAYOUT_AMOUNT_MISMATCH,
    PAYOUT_NOT_IN_BANK,
    SettlementFinding,
)
from recon_assets.partitions import daily_partitions

CASH_TIE_OUT = "cash_tie_out"
FEE_VARIANCE_CHECK = "fee_variance"


def settlement_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CASH_TIE_OUT, asset=asset_key, partitions_def=daily_partitions,
            description="Every payout of the day whose grace window has closed reached the bank, to the cent "
            "(ERROR otherwise).",
        ),
        dg.AssetCheckSpec(
            FEE_VARIANCE_CHECK, asset=asset_key, partitions_def=daily_partitions,
            description="Every fee the processors took matches the fee schedule (WARN otherwise).",
        ),
    ]  # fmt: skip


def evaluate_settlement(
    asset_key: dg.AssetKey, findings: Sequence[SettlementFinding], due: int, in_transit: int
) -> list[dg.AssetCheckResult]:
    """``due``: the day's payouts expected in the bank; ``in_transit``: those whose window is still open."""
    kinds = Counter(f.discrepancy_type for f in findings)
    short = [f for f in findings if f.discrepancy_type in (PAYOUT_NOT_IN_BANK, PAYOUT_AMOUNT_MISMATCH)]
    fees = [f for f in findings if f.discrepancy_type == FEE_VARIANCE]
    return [
        dg.AssetCheckResult(
            check_name=CASH_TIE_OUT, asset_key=asset_key, passed=not short,
            severity=dg.AssetCheckSeverity.ERROR,
            description=None if not short else f"{len(short)} payout(s) not in the bank as paid out",
            metadata={
                "payouts_due": due, "in_transit": in_transit,
                "not_in_bank": kinds[PAYOUT_NOT_IN_BANK], "amount_mismatches": kinds[PAYOUT_AMOUNT_MISMATCH],
                "short_by_currency": _by_currency(short),
            },
        ),
        dg.AssetCheckResult(
            check_name=FEE_VARIANCE_CHECK, asset_key=asset_key, passed=not fees,
            severity=dg.AssetCheckSeverity.WARN,
            description=None if not fees else f"{len(fees)} fee(s) differ from the schedule",
            metadata={"fee_variances": len(fees), "variance_by_currency": _by_currency(fees)},
        ),
    ]  # fmt: skip


def _by_currency(findings: Sequence[SettlementFinding]) -> dg.MetadataValue:
    total: Counter[str] = Counter()
    for f in findings:
        total[f.currency] += f.at_risk_minor
    return dg.MetadataValue.json(dict(sorted(total.items())))


FILES_READABLE = "every_file_readable"
NO_STATEMENT_CONFLICT = "statement_conflict"


def statement_file_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            FILES_READABLE, asset=asset_key,
            description="Every statement file taken in by the run was a valid statement; a file that was not is "
            "quarantined with its reason and lands nothing (ERROR: the account-days it claims are unstated).",
        ),
        dg.AssetCheckSpec(
            NO_STATEMENT_CONFLICT, asset=asset_key,
            description="No two files stated one account's day differently (WARN: the later file's lines "
            "stand; a person decides which is right).",
        ),
    ]  # fmt: skip


def evaluate_statement_files(asset_key: dg.AssetKey, taken_in, conflicts: Sequence[dict]) -> list[dg.AssetCheckResult]:
    """``taken_in``: the run's files (services.statements.TakenIn); ``conflicts``: the account-days it found."""
    bad = [t for t in taken_in if t.reason]
    return [
        dg.AssetCheckResult(
            check_name=FILES_READABLE, asset_key=asset_key, passed=not bad, severity=dg.AssetCheckSeverity.ERROR,
            description=None if not bad else "; ".join(f"{t.name} quarantined: {t.reason}" for t in bad),
            metadata={"files": len(taken_in), "quarantined": len(bad)},
        ),
        dg.AssetCheckResult(
            check_name=NO_STATEMENT_CONFLICT, asset_key=asset_key, passed=not conflicts,
            severity=dg.AssetCheckSeverity.WARN,
            description=None if not conflicts else "; ".join(
                f"{c['account']} on {c['booking_date']}: {c['file_name']} disagrees with {c['replaced_file']}"
                for c in conflicts),
            metadata={"conflicts": len(conflicts)},
        ),
    ]  # fmt: skip

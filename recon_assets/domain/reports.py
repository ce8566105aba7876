"""A processor's day as files: the CSV of every discrepancy and the original JSON summary.

Everything here is pure: rows in, bytes out. Where they are stored is the caller's concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import pandas as pd

from recon_assets.domain.casework import ExceptionPolicy, age_days
from recon_assets.domain.findings import REPORT_COLUMNS, names
from recon_assets.domain.money import exponent, format_major
from recon_assets.domain.risk import RiskLevel

# Each amount in minor units gets its major-unit twin, in the same currency: (minor, major, currency)
MONEY_COLUMNS = (
    ("processor_amount_minor", "processor_amount", "processor_currency"),
    ("ledger_amount_minor", "ledger_amount", "ledger_currency"),
    ("at_risk_minor", "at_risk_amount", "at_risk_currency"),
    ("expected_minor", "expected_amount", "at_risk_currency"),
    ("actual_minor", "actual_amount", "at_risk_currency"),
)


def _csv_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    """Each minor-unit column followed by its major-unit twin, and the state by the severity the exception
    tools give it."""
    majors = {minor: major for minor, major, _ in MONEY_COLUMNS}
    out: list[str] = []
    for name in columns:
        out += [name, majors[name]] if name in majors else [name]
        if name == "state":
            out.append("severity")
    return tuple(out)


CSV_COLUMNS = _csv_columns(REPORT_COLUMNS)

COMPLIANCE_STATUS = {
    RiskLevel.LOW: "compliant",
    RiskLevel.MEDIUM: "review_required",
    RiskLevel.HIGH: "non_compliant",
    RiskLevel.CRITICAL: "non_compliant",
}


def report_path(day: date, name: str, processor: str | None = None) -> str:
    """``reports/YYYY/MM/DD/[<processor>/]<name>``, the same layout on S3 and on disk."""
    parts = ["reports", f"{day:%Y}", f"{day:%m}", f"{day:%d}"] + ([processor] if processor else []) + [name]
    return "/".join(parts)


NOT_RECONCILED = "not_reconciled"  # the compliance status of a day whose sources are not all landed


def not_reconciled_json(day: date, processor: str, reason: str) -> dict:
    """The JSON summary of a day that was not judged: no figures, a status that says so, and why."""
    return {
        "reconciliation_summary": {"date": day.isoformat(), "processor": processor},
        "financial_impact": {"risk_level": None, "compliance_status": NOT_RECONCILED, "reason": reason},
    }


PROCESSOR_FILES = (("CSV", "discrepancies_csv", "discrepancies.csv"), ("JSON", "summary_json", "summary.json"))


def processor_files(processor: str, written: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, link relative to the day's folder) of each of a processor's files that was written."""
    return [(label, f"{processor}/{name}") for label, key, name in PROCESSOR_FILES if key in written]


def discrepancies_csv(frame: pd.DataFrame, policy: ExceptionPolicy, as_of: date) -> bytes:
    """Every finding of the day, open or resolved, every type, each with its exception id, state, severity
    (``policy``'s, its age counted to ``as_of``) and assignee. Minor units are integers; each has its
    major-unit amount beside it with exactly its currency's decimals; the amount at risk in the reporting
    currency has that currency's."""
    out = frame.reindex(columns=list(REPORT_COLUMNS))
    out["id"] = out["id"].astype("Int64")
    out["severity"] = [
        policy.severity(Decimal(a), age_days(d, as_of)).value if pd.notna(a) and pd.notna(d) else None
        for a, d in zip(out["amount_at_risk"], out["business_date"], strict=True)
    ]
    for minor, major, currency in MONEY_COLUMNS:
        out[minor] = out[minor].astype("Int64")
        out[major] = [
            format_major(m, c.strip()) if m is not None and isinstance(c, str) else None
            for m, c in zip(out[minor].to_numpy(dtype=object, na_value=None), out[currency].tolist(), strict=True)
        ]
    out["amount_at_risk"] = [
        f"{Decimal(a):.{exponent(c.strip())}f}" if pd.notna(a) else None
        for a, c in zip(out["amount_at_risk"], out["reporting_currency"], strict=True)
    ]
    out["group_members"] = [" ".join(m) if isinstance(m, list) else None for m in out["group_members"]]
    return out.reindex(columns=list(CSV_COLUMNS)).to_csv(index=False, lineterminator="\n").encode()


def summary_json(run: Mapping) -> dict:
    """The original system's report structure, plus counts per discrepancy type."""
    level = RiskLevel(run["risk_level"])
    return {
        "reconciliation_summary": {
            "date": run["run_date"].isoformat(),
            "processor": run["processor_name"],
            "processor_transactions": int(run["processor_transaction_count"]),
            "internal_transactions": int(run["internal_transaction_count"]),
            "matched_transactions": int(run["matched_count"]),
            "missing_transaction_count": int(run["missing_transaction_count"]),
            "total_discrepancy_amount": str(run["total_discrepancy_amount"]),
            "total_volume_processed": str(run["total_volume_processed"]),
            "currency": run["reporting_currency"].strip(),
        },
        "financial_impact": {
            "discrepancy_rate": str(run["discrepancy_rate"]),
            "risk_level": level.value,
            "compliance_status": COMPLIANCE_STATUS[level],
        },
        "discrepancy_counts": {kind: int(run["finding_counts"].get(kind, 0)) for kind in names()},
    }

"""The day's reports: discrepancies CSV, the original JSON summary, and the cross-processor summary.

Everything here is pure: rows in, bytes or text out. Where they are stored is the caller's concern.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import pandas as pd

from recon_assets.domain.matching import DISCREPANCY_TYPES
from recon_assets.domain.risk import RiskLevel

CSV_COLUMNS = (
    "business_date", "processor_name", "discrepancy_type", "processor_txn_id", "ledger_id", "related_ledger_id",
    "processor_amount_minor", "processor_currency", "processor_status", "ledger_amount_minor", "ledger_currency",
    "ledger_status", "at_risk_minor", "at_risk_currency", "amount_at_risk", "reporting_currency",
    "first_detected_on", "last_detected_on", "resolved_on", "resolution",
)  # fmt: skip

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


def discrepancies_csv(frame: pd.DataFrame) -> bytes:
    """Every finding of the day, open or resolved, every type; amounts exactly as stored."""
    return frame.reindex(columns=list(CSV_COLUMNS)).to_csv(index=False, lineterminator="\n").encode()


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
        "discrepancy_counts": {kind: int(run[f"{kind}_count"]) for kind in DISCREPANCY_TYPES},
    }


_SUMMARY_COLUMNS = {
    "processor_name": "Processor",
    "risk_level": "Risk",
    "processor_transaction_count": "Processor txns",
    "internal_transaction_count": "Ledger txns",
    "matched_count": "Matched",
    "missing_transaction_count": "Missing",
    "total_discrepancy_amount": "At risk",
    "total_volume_processed": "Volume",
}


def _summary_table(runs: Sequence[Mapping]) -> pd.DataFrame:
    frame = pd.DataFrame([{label: run[column] for column, label in _SUMMARY_COLUMNS.items()} for run in runs])
    for kind in DISCREPANCY_TYPES:
        frame[kind.replace("_", " ")] = [int(run[f"{kind}_count"]) for run in runs]
    return frame.astype(str)


def _headline(runs: Sequence[Mapping], currency: str) -> tuple[RiskLevel, str]:
    """The day's worst risk level, and what is at risk across processors."""
    order = list(RiskLevel)
    level = max((RiskLevel(r["risk_level"]) for r in runs), key=order.index, default=RiskLevel.LOW)
    total = sum((Decimal(r["total_discrepancy_amount"]) for r in runs), Decimal(0))
    return level, f"{total} {currency} at risk across {len(runs)} processor(s)"


def daily_summary_markdown(
    day: date,
    runs: Sequence[Mapping],
    currency: str,
    chart_name: str,
    aging: pd.DataFrame | None = None,
    audit_head: str | None = None,
) -> str:
    level, at_risk = _headline(runs, currency)
    lines = [
        f"# Reconciliation summary for {day.isoformat()}",
        "",
        f"Overall risk: **{level.value}**; {at_risk}.",
        "",
        _summary_table(runs).to_markdown(index=False) if runs else "_No processor was reconciled for this day._",
        "",
    ]
    if aging is not None and not aging.empty:
        lines += ["## Open exceptions by age", "", aging.to_markdown(index=False), ""]
    lines += [f"![30-day trend of amount at risk and missing transactions]({chart_name})", ""]
    if audit_head:
        lines += [f"Audit log head: `{audit_head}` (`recon audit verify` checks the log against it)", ""]
    return "\n".join(lines)


def daily_summary_html(
    day: date, runs: Sequence[Mapping], currency: str, chart_name: str, aging: pd.DataFrame | None = None
) -> str:
    level, at_risk = _headline(runs, currency)
    table = _summary_table(runs).to_html(index=False, border=0, classes="summary") if runs else "<p>None.</p>"
    aging_html = (
        "<h2>Open exceptions by age</h2>" + aging.astype(str).to_html(index=False, border=0)
        if aging is not None and not aging.empty
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Reconciliation {day.isoformat()}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>Reconciliation summary for {day.isoformat()}</h1>"
        f"<p>Overall risk: <strong>{level.value}</strong>; {html.escape(at_risk)}.</p>"
        f"{table}{aging_html}"
        f"<img src='{html.escape(chart_name)}' alt='30-day trend of amount at risk and missing transactions'>"
        "</body></html>"
    )


def trend_chart_png(trend: pd.DataFrame, currency: str) -> bytes:
    """Amount at risk (bars) and missing count (line) per day over the trend window, one series per processor.

    ``trend`` has columns run_date, processor_name, total_discrepancy_amount, missing_transaction_count.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (amount_axis, missing_axis) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for processor, rows in trend.sort_values("run_date").groupby("processor_name"):
        days = pd.to_datetime(rows["run_date"])
        amount_axis.plot(days, rows["total_discrepancy_amount"].astype(float), marker="o", label=processor)
        missing_axis.plot(days, rows["missing_transaction_count"].astype(int), marker="o", label=processor)
    amount_axis.set_ylabel(f"At risk ({currency})")
    missing_axis.set_ylabel("Missing transactions")
    amount_axis.set_title("Last 30 days")
    if not trend.empty:
        amount_axis.legend(loc="upper left")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()

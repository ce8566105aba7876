import csv
import io
from datetime import date
from decimal import Decimal

import pandas as pd

from recon_assets.domain.reports import (
    CSV_COLUMNS,
    daily_summary_html,
    daily_summary_markdown,
    discrepancies_csv,
    report_path,
    summary_json,
    trend_chart_png,
)

RUN = {
    "run_date": date(2026, 11, 20), "processor_name": "stripe", "processor_transaction_count": 300,
    "internal_transaction_count": 298, "matched_count": 290, "missing_transaction_count": 6,
    "missing_in_ledger_count": 4, "missing_at_processor_count": 2, "amount_mismatch_count": 1,
    "currency_mismatch_count": 0, "status_mismatch_count": 1, "duplicate_count": 1,
    "total_discrepancy_amount": Decimal("1234.50"), "total_volume_processed": Decimal("98765.43"),
    "reporting_currency": "USD", "discrepancy_rate": Decimal("0.030000"), "risk_level": "MEDIUM",
}  # fmt: skip


def test_report_paths_follow_the_bucket_layout():
    assert report_path(date(2026, 1, 5), "summary.json", "paypal") == "reports/2026/01/05/paypal/summary.json"
    assert report_path(date(2026, 1, 5), "daily_summary.md") == "reports/2026/01/05/daily_summary.md"


def test_json_keeps_the_original_structure_with_exact_amounts():
    document = summary_json(RUN)
    assert document["reconciliation_summary"]["total_discrepancy_amount"] == "1234.50"
    assert document["reconciliation_summary"]["missing_transaction_count"] == 6
    assert document["financial_impact"] == {
        "discrepancy_rate": "0.030000", "risk_level": "MEDIUM", "compliance_status": "review_required",
    }  # fmt: skip
    assert document["discrepancy_counts"]["duplicate"] == 1


def test_csv_has_every_column_and_exact_minor_units():
    frame = pd.DataFrame(
        [{"discrepancy_type": "amount_mismatch", "processor_txn_id": "ch_1", "at_risk_minor": 12345678901234}]
    )
    rows = list(csv.DictReader(io.StringIO(discrepancies_csv(frame).decode())))
    assert tuple(rows[0]) == CSV_COLUMNS and rows[0]["at_risk_minor"] == "12345678901234"


def test_daily_summary_lists_each_processor_and_embeds_the_chart():
    other = RUN | {"processor_name": "square", "risk_level": "CRITICAL"}
    markdown = daily_summary_markdown(date(2026, 11, 20), [RUN, other], "USD", "trend.png")
    assert "Overall risk: **CRITICAL**" in markdown and "2469.00 USD" in markdown
    assert "| stripe" in markdown and "| square" in markdown and "(trend.png)" in markdown
    assert "<img src='trend.png'" in daily_summary_html(date(2026, 11, 20), [RUN], "USD", "trend.png")
    trend = pd.DataFrame([{k: RUN[k] for k in ("run_date", "processor_name", "total_discrepancy_amount",
                                                "missing_transaction_count")}])  # fmt: skip
    assert trend_chart_png(trend, "USD").startswith(b"\x89PNG")

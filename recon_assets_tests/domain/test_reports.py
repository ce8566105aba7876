import csv
import io
from datetime import date
from decimal import Decimal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from recon_assets.domain import daily_summary as page
from recon_assets.domain.casework import ExceptionPolicy
from recon_assets.domain.charts import trend_chart_png, trend_series
from recon_assets.domain.reports import CSV_COLUMNS, discrepancies_csv, processor_files, report_path, summary_json
from recon_assets.domain.settlement import CashPosition

RUN = {
    "run_date": date(2026, 11, 20), "processor_name": "stripe", "processor_transaction_count": 300,
    "internal_transaction_count": 298, "matched_count": 290, "missing_transaction_count": 6,
    "finding_counts": {"missing_in_ledger": 4, "missing_at_processor": 2, "amount_mismatch": 1, "status_mismatch": 1,
                       "duplicate": 1, "payout_not_in_bank": 1, "paid_out_not_booked": 2, "fee_variance": 1},
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


def test_csv_has_every_column_and_exact_minor_and_major_units():
    frame = pd.DataFrame(
        [{"id": 4711, "business_date": date(2026, 11, 20), "discrepancy_type": "amount_mismatch",
          "processor_txn_id": "ch_1", "at_risk_minor": 12345678901234, "at_risk_currency": "KWD",
          "processor_amount_minor": 6656.0, "processor_currency": "JPY", "ledger_amount_minor": None,
          "amount_at_risk": Decimal("40123456789.1"), "reporting_currency": "USD", "state": "assigned",
          "assigned_to": "team:ledger-ops"}]
    )  # fmt: skip
    (row,) = csv.DictReader(io.StringIO(discrepancies_csv(frame, ExceptionPolicy(), date(2026, 11, 21)).decode()))
    assert tuple(row) == CSV_COLUMNS and CSV_COLUMNS[0] == "id"
    # the row leads to its exception: recon exceptions assign 4711 --to ...
    assert (row["id"], row["state"], row["severity"], row["assigned_to"]) == (
        "4711", "assigned", "critical", "team:ledger-ops",
    )  # fmt: skip
    assert (row["at_risk_minor"], row["at_risk_amount"]) == ("12345678901234", "12345678901.234")
    assert (row["processor_amount_minor"], row["processor_amount"]) == ("6656", "6656")  # never 6656.0
    assert (row["ledger_amount_minor"], row["ledger_amount"]) == ("", "")
    assert row["amount_at_risk"] == "40123456789.10"


def test_daily_summary_says_the_worst_level_what_is_at_risk_and_what_changed():
    other = RUN | {"processor_name": "square", "risk_level": "CRITICAL", "total_discrepancy_amount": Decimal("60000")}
    yesterday = [RUN | {"total_discrepancy_amount": Decimal("1000.00"), "missing_transaction_count": 2}]
    summary = page.build_daily_summary(
        date(2026, 11, 20), [RUN, other], yesterday, "USD", names={"stripe": "Stripe", "square": "Square"},
        files={"stripe": processor_files("stripe", {"discrepancies_csv": "s3://b/k"})}, chart="trend.png",
        cash=[CashPosition("stripe", "JPY", 150_000, -1_200, 4_350, 144_450, 98_000, 0)],
    )  # fmt: skip
    assert summary.level.value == "CRITICAL" and summary.at_risk == "61,234.50 USD"
    assert summary.changes == ["+60,234.50 USD at risk", "+10 missing"]
    markdown = page.markdown(summary)
    assert "🟥 **CRITICAL** · 61,234.50 USD at risk across 2 processors, 12 missing" in markdown
    assert "| Stripe | 🟨 **MEDIUM** | 300 / 298 | 6 | 1,234.50 USD | [CSV](stripe/discrepancies.csv) |" in markdown
    assert "| Square | 🟥 **CRITICAL** |" in markdown and "(trend.png)" in markdown
    assert "| Paid out not booked | 2 | 2 |" in markdown and "| Fee variance | 1 | 1 |" in markdown
    assert "## Cash position" in markdown
    assert "| Stripe | JPY | 150,000 JPY | -1,200 JPY | 4,350 JPY | 144,450 JPY | 98,000 JPY | 0 JPY |" in markdown
    html = page.html(summary)
    assert "Cash position" in html and "144,450 JPY" in html
    assert 'src="trend.png"' in html and 'href="stripe/discrepancies.csv"' in html and "<script" not in html
    assert "background:#b91c1c" in html  # the CRITICAL badge
    assert "_Sandbox mode: generated data, not a real account_" in markdown and "Fees not checked" not in markdown


def test_a_converted_volume_shows_the_currencies_it_was_presented_in():
    cash = [CashPosition("stripe", "USD", 20_000, 0, 700, 19_300, on_hold_minor=1_250,
                         presented=(("EUR", 9_200), ("USD", 10_000))),
            CashPosition("stripe", "JPY", 5_000, 0, 150, 4_850, presented=(("JPY", 5_000),))]  # fmt: skip
    summary = page.build_daily_summary(date(2026, 11, 20), [RUN], [], "USD", names={"stripe": "Stripe"}, files={},
                                       cash=cash)  # fmt: skip
    markdown = page.markdown(summary)
    assert "| Processor | Currency | Gross | Refunds | Fees | Net | Paid out | In transit | On hold | Presented as |" \
           in markdown  # fmt: skip
    assert "| Stripe | USD | 200.00 USD | 0.00 USD | 7.00 USD | 193.00 USD | 0.00 USD | 0.00 USD | 12.50 USD | " \
           "92.00 EUR · 100.00 USD |" in markdown  # fmt: skip
    assert "| Stripe | JPY | 5,000 JPY |" in markdown and "| 5,000 JPY |" in markdown


def test_a_live_summary_says_so_and_names_the_fees_it_could_not_check():
    summary = page.build_daily_summary(
        date(2026, 11, 20), [RUN], [], "USD", names={"stripe": "Stripe", "paypal": "PayPal"}, files={},
        mode="live", fees_unchecked=[("paypal", "EUR"), ("stripe", "GBP")],
    )  # fmt: skip
    markdown, html = page.markdown(summary), page.html(summary)
    assert "_Live mode: the real processors, ledger and bank_" in markdown
    assert "Fees not checked (no rate configured): PayPal EUR, Stripe GBP." in markdown
    assert "Live mode: the real processors, ledger and bank" in html
    assert "Fees not checked (no rate configured): PayPal EUR, Stripe GBP." in html


def test_the_trend_chart_draws_each_reconciled_day_and_a_gap_for_the_others():
    columns = ("run_date", "processor_name", "total_discrepancy_amount", "missing_transaction_count")
    days = [RUN, RUN | {"run_date": date(2026, 11, 18), "total_discrepancy_amount": Decimal("99.00")}]
    trend = pd.DataFrame([{k: run[k] for k in columns} for run in days])
    first, last = date(2026, 10, 22), date(2026, 11, 20)
    (series,) = trend_series(trend, first, last).values()
    assert len(series) == 30 and series["total_discrepancy_amount"].notna().sum() == 2
    assert series.loc["2026-11-18", "total_discrepancy_amount"] == 99.0
    assert series.loc["2026-11-20", "missing_transaction_count"] == 6.0
    assert pd.isna(series.loc["2026-11-19", "total_discrepancy_amount"])  # not reconciled: a gap, not a 0
    image = plt.imread(io.BytesIO(trend_chart_png(trend, first, last, "USD", {"stripe": "Stripe"})), format="png")
    assert image.shape[:2] == (576, 900)  # 10 x 6.4 inches at 90 dpi
    line = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("C0")) < 0.02, axis=-1)  # the first series
    assert line.sum() > 50  # its markers and its legend are drawn (none on an empty chart)


def test_the_day_over_day_comparison_names_the_last_day_reconciled_when_it_is_not_the_day_before():
    earlier = [RUN | {"run_date": date(2026, 11, 17), "total_discrepancy_amount": Decimal("1000.00")}]
    summary = page.build_daily_summary(date(2026, 11, 20), [RUN], earlier, "USD", names={"stripe": "Stripe"}, files={})
    assert "Since 2026-11-17, the last day reconciled before it: +234.50 USD at risk" in page.markdown(summary)
    assert "Since 2026-11-17, the last day reconciled before it" in page.html(summary)
    day_before = [RUN | {"run_date": date(2026, 11, 19)}]
    summary = page.build_daily_summary(date(2026, 11, 20), [RUN], day_before, "USD", names={}, files={})
    assert "Since the day before: " in page.markdown(summary)


def test_a_processor_whose_day_was_not_reconciled_is_named_not_left_out():
    summary = page.build_daily_summary(date(2026, 11, 20), [RUN], [], "USD",
                                       names={"stripe": "Stripe", "square": "Square"}, files={})  # fmt: skip
    assert summary.not_reconciled == ["Square"]
    assert (
        "**Not reconciled:** Square (its day is not complete: nothing is judged for it, and the level above "
        "leaves it out)"
    ) in page.markdown(summary)
    assert "<strong>Not reconciled:</strong> Square (its day is not complete" in page.html(summary)
    # the day's badge is not a level, and the processor has a row of its own that says so
    markdown = page.markdown(summary)
    assert "⬜ **NOT RECONCILED** · " in markdown and "🟩 **LOW** · " not in markdown
    assert "| Square | ⬜ **NOT RECONCILED** | – | – | – | – |" in markdown
    assert page.html(summary).count(">NOT RECONCILED<") == 2 and ": NOT RECONCILED</title>" in page.html(summary)
    whole = page.build_daily_summary(date(2026, 11, 20), [RUN], [], "USD", names={"stripe": "Stripe"}, files={})
    assert "Not reconciled" not in page.markdown(whole) + page.html(whole)

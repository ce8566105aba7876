"""The finding types, written once: every type reaches the run row, the JSON, the CSV and the summary, and a
type added in one place (here a throwaway one, in a fixture) reaches them all with no other edit."""

import csv
import io
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from recon_assets.domain import daily_summary, findings, reports
from recon_assets.domain.casework import ExceptionPolicy
from recon_assets.domain.findings import FindingType, Side, finding_type, finding_types, names
from recon_assets.domain.money import FxRates
from recon_assets.domain.risk import RiskThresholds
from recon_assets.domain.summary import DayCounts, summarise_day

DAY = date(2026, 11, 20)
RATES = FxRates({"USD": "1"}, "USD")


def one_of_each(kinds) -> DayCounts:
    """A day with one open finding of each kind, 100 USD (10,000 cents) at risk each, in 1,000 records."""
    return DayCounts(
        processor_records=1000, ledger_entries=1000, outcomes={"matched": 990},
        open_findings=[(kind, "USD", 1, 10_000) for kind in kinds], volume_minor={"USD": 1_000_000},
    )  # fmt: skip


def summary_of(row):
    return daily_summary.build_daily_summary(DAY, [row], [], "USD", names={"stripe": "Stripe"}, files={})


def csv_types(kinds) -> list[str]:
    frame = pd.DataFrame(
        [{"business_date": DAY, "processor_name": "stripe", "discrepancy_type": kind, "processor_txn_id": f"t{i}",
          "at_risk_minor": 100, "at_risk_currency": "USD", "amount_at_risk": Decimal("1.00"),
          "reporting_currency": "USD"} for i, kind in enumerate(kinds)]
    )  # fmt: skip
    return [
        row["discrepancy_type"]
        for row in csv.DictReader(io.StringIO(reports.discrepancies_csv(frame, ExceptionPolicy(), DAY).decode()))
    ]


def test_every_type_reaches_the_run_row_the_json_the_csv_and_the_summary():
    row = summarise_day(DAY, "stripe", one_of_each(names()), RATES, RiskThresholds())
    assert row["finding_counts"] == dict.fromkeys(names(), 1)
    # missing money: the three kinds that say so, no more; the rate: the transactions' findings, not advice
    assert row["missing_transaction_count"] == 3 == sum(k.missing for k in finding_types())
    assert row["discrepancy_rate"] == Decimal(7) / 1000  # 8 transaction kinds, less the suggestion
    assert reports.summary_json(row)["discrepancy_counts"] == dict.fromkeys(names(), 1)
    assert csv_types(names()) == list(names())
    summary = summary_of(row)
    text, page = daily_summary.markdown(summary), daily_summary.html(summary)
    for kind in finding_types():
        assert f"| {kind.label} | 1 |" in text
        assert f">{kind.label}</td>" in page
    assert [kind.label for kind in finding_types()] == list(summary.finding_labels.values())


def test_the_order_and_the_sides_are_the_reports():
    transaction, settlement = names(Side.TRANSACTION), names(Side.SETTLEMENT)
    assert names() == transaction + settlement
    assert "fee_variance" in settlement and "missing_in_ledger" in transaction


def test_an_unknown_type_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown finding type 'fee_varience'; known: missing_in_ledger, "):
        finding_type("fee_varience")
    assert finding_type("fee_variance") is findings.FEE_VARIANCE


@pytest.fixture
def throwaway_type(monkeypatch):
    """A finding type that exists only for this test: one entry in ``FINDING_TYPES``, nothing else."""
    kind = FindingType("throwaway_kind", Side.SETTLEMENT, "Throwaway kind", missing=True)
    monkeypatch.setattr(findings, "FINDING_TYPES", (*findings.FINDING_TYPES, kind))
    return kind


def test_a_new_type_flows_to_the_csv_and_the_summary_with_no_other_edit(throwaway_type):
    row = summarise_day(DAY, "stripe", one_of_each(["missing_in_ledger", "throwaway_kind"]), RATES, RiskThresholds())
    assert row["finding_counts"]["throwaway_kind"] == 1
    assert row["missing_transaction_count"] == 2  # it says it is missing money: it counts as such
    assert row["total_discrepancy_amount"] == Decimal("200.00")
    assert reports.summary_json(row)["discrepancy_counts"]["throwaway_kind"] == 1
    assert csv_types(["throwaway_kind"]) == ["throwaway_kind"]
    summary = summary_of(row)
    assert "| Throwaway kind | 1 |" in daily_summary.markdown(summary)
    assert 'font-weight:600;">Throwaway kind</td>' in daily_summary.html(summary)  # bold: missing money
    assert list(summary.finding_labels)[-1] == "throwaway_kind"


def test_due_soon_lists_what_waits_on_us_and_is_due_by_the_horizon_earliest_first():
    from datetime import UTC, date, datetime

    from recon_assets.domain.disputes import Dispute, due_soon

    day = date(2026, 11, 20)

    def dispute(reference, status, due_day, opened=date(2026, 11, 1)):
        due = datetime.combine(due_day, datetime.min.time(), tzinfo=UTC) if due_day else None
        return Dispute("stripe", reference, None, 100, "USD", None, status, None, due, opened, datetime.now(UTC))

    disputes = [
        dispute("late", "needs_response", date(2026, 11, 19)), dispute("soon", "EVIDENCE_REQUIRED", date(2026, 11, 23)),
        dispute("later", "WAITING_FOR_SELLER_RESPONSE", date(2026, 11, 24)),
        dispute("answered", "under_review", date(2026, 11, 21)), dispute("undated", "needs_response", None),
        dispute("not_yet_open", "needs_response", date(2026, 11, 21), opened=date(2026, 11, 21)),
    ]  # fmt: skip
    assert [d.reference for d in due_soon(disputes, day)] == ["late", "soon"]
    assert [d.reference for d in due_soon(disputes, day, within_days=4)] == ["late", "soon", "later"]

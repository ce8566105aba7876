"""What finance people see, checked as they see it: the report files read back, the trend chart's data, and
the daily summary and the alert email rendered in headless Chromium at a desktop's and a phone's width."""

import csv
import io
import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urljoin, urlparse

import dagster as dg
import pandas as pd
import pytest
from dagster_aws.s3 import S3Resource

from recon_assets import asset_keys
from recon_assets.defs.settlement.resources import BankStatementFiles
from recon_assets.domain.alerts import Alert, AlertKind
from recon_assets.domain.charts import trend_series
from recon_assets.domain.money import exponent
from recon_assets.domain.reports import MONEY_COLUMNS
from recon_assets.processors.registry import PROCESSORS
from recon_assets.sandbox.world import SandboxConfig
from recon_assets_tests.defs.graph import LANDING, RECONCILING, REPORTING, materialize

DAY = date(2026, 11, 20)
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
# 600 payments a day plant enough missing entries for a MEDIUM day, with findings of several kinds
BUSY = SandboxConfig(daily_volume=600)


def day_folder(resources_dir: Path, day: date) -> Path:
    return resources_dir / "reports" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


# the cash side of a day: its payouts, the bank's lines (the sandbox bank's), how they met, its cash position
CASH = [*(key(p) for p in PROCESSORS for key in (asset_keys.payouts, asset_keys.payout_items)),
        asset_keys.BANK_STATEMENT_LINES, asset_keys.PAYOUT_MATCHES, asset_keys.CASH_POSITION]  # fmt: skip


@pytest.fixture
def reported_days(resources, tmp_path):
    """Three reported days (the day before DAY not reconciled: a gap in the chart), every report written;
    DAY's cash settled too, so its summary has a cash position."""
    bank = BankStatementFiles(s3=S3Resource(), local_dir=str(tmp_path / "bank"), sandbox_fill=True,
                              sandbox_daily_volume=BUSY.daily_volume)  # the sandbox bank's statements  # fmt: skip
    resources = {**resources, "bank_statements": bank}
    for day in (DAY - timedelta(days=3), DAY - timedelta(days=2), DAY):
        cash = CASH if day == DAY else []
        assert materialize(resources, day, LANDING + RECONCILING + cash + REPORTING
                           + [asset_keys.EXCEPTION_AGING]).success  # fmt: skip
    return tmp_path / "reports"


@pytest.mark.parametrize("sandbox_config", [BUSY])
def test_the_csv_writes_integer_minor_units_and_exact_major_amounts(reported_days):
    for processor in PROCESSORS:
        text = (day_folder(reported_days, DAY) / processor / "discrepancies.csv").read_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows, processor
        for row in rows:
            for minor, major, currency in MONEY_COLUMNS:
                if not row[minor]:  # and a side's currency with it (the expected and actual amounts share one)
                    assert row[major] == "" and (row[currency] == "" or currency == "at_risk_currency"), row
                    continue
                assert row[minor].lstrip("-").isdigit(), (minor, row[minor])  # 6656, never 6656.0
                places = exponent(row[currency])
                whole, _, decimals = row[major].lstrip("-").partition(".")
                assert whole.isdigit() and len(decimals) == places, (major, row[major], row[currency])
                assert Decimal(row[major]).scaleb(places) == int(row[minor])
            reporting = exponent(row["reporting_currency"])
            assert len(row["amount_at_risk"].partition(".")[2]) == reporting, row["amount_at_risk"]


def test_the_trend_has_a_gap_where_a_day_was_not_reconciled():
    first, last = date(2026, 10, 22), date(2026, 11, 20)
    reconciled = [d.date() for d in pd.date_range(first, last) if d.date() != date(2026, 11, 10)]
    trend = pd.DataFrame(
        [{"run_date": d, "processor_name": "stripe", "total_discrepancy_amount": Decimal("10.00") + i,
          "missing_transaction_count": i} for i, d in enumerate(reconciled)]
    )  # fmt: skip
    (stripe,) = trend_series(trend, first, last).values()
    assert len(stripe) == 30 and list(stripe.index.date) == [d.date() for d in pd.date_range(first, last)]
    gap = stripe.loc[pd.Timestamp(2026, 11, 10)]
    assert gap.isna().all()  # not an interpolated point: nothing was measured that day
    assert stripe.drop(pd.Timestamp(2026, 11, 10)).notna().all().all()
    assert stripe.loc[pd.Timestamp(2026, 11, 11), "missing_transaction_count"] == 19  # each day its own figure


def alert_email(folder: Path) -> Path:
    """A realistic alert email, as SES would carry it, written where its links point."""
    report = day_folder(folder, DAY) / "stripe" / "discrepancies.csv"
    alert = Alert(
        kind=AlertKind.FAILURE, severity="ERROR",
        title="risk_threshold failed: CRITICAL on stripe/reconciliation_summary",
        processor="stripe", business_date=DAY.isoformat(),
        facts={"check": "stripe/reconciliation_summary risk_threshold", "partition": DAY.isoformat(),
               "severity": "ERROR", "risk level": "CRITICAL", "missing count": "57",
               "amount at risk exact": "58,210.44 USD",
               "thresholds": '{"critical_amount": "50000", "critical_missing": "50", "currency": "USD", '
                             '"high_amount": "10000", "high_missing": "20", "medium_amount": "1000"}'},
        links={"Discrepancies (CSV)": report.as_uri(),
               "Daily summary": (report.parents[1] / "daily_summary.html").as_uri()},
    )  # fmt: skip
    path = folder / "alert_email.html"
    path.write_text(alert.html())
    return path


@pytest.mark.e2e
@pytest.mark.parametrize("sandbox_config", [BUSY])
def test_summary_and_alert_fit_a_desktop_and_a_phone_and_link_to_files_that_exist(reported_days):
    if not Path(CHROMIUM).exists() and not os.environ.get("RECON_REQUIRE_BROWSER"):
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    summary = day_folder(reported_days, DAY) / "daily_summary.html"
    pages = {"daily-summary": summary, "alert-email": alert_email(reported_days)}
    screenshots = Path(os.environ.get("RECON_SCREENSHOT_DIR") or ROOT / ".recon" / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            for name, path in pages.items():
                for width in (1200, 600):
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(path.as_uri(), wait_until="load")
                    overflow = page.evaluate(
                        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                    )
                    assert overflow[0] <= overflow[1], (name, width, overflow)
                    text = page.inner_text("body")
                    assert "CRITICAL" in text or "MEDIUM" in text or "HIGH" in text or "LOW" in text, name
                    badges = page.locator("span[style*='border-radius:4px']")
                    assert badges.count() >= 1, name
                    links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
                    assert links, name
                    for link in links:
                        target = urlparse(urljoin(path.as_uri(), link))
                        assert target.scheme == "file" and Path(target.path).exists(), (name, link)
                    images = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
                    assert all(w > 0 for w in images), (name, images)  # the chart loaded
                    page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
                    page.close()
        finally:
            browser.close()
    text = summary.read_text()
    assert "processor_name" not in text and "age_bucket" not in text  # people's words, not column names
    for processor in PROCESSORS:
        assert f'href="{processor}/discrepancies.csv"' in text and f'href="{processor}/summary.json"' in text
    assert "Cash position" in text and "Paid out" in text  # the day's cash, settled with it
    cash = (day_folder(reported_days, DAY) / "daily_summary.md").read_text().split("## Cash position")[1]
    rows = [line.split(" | ") for line in cash.split("\n\n")[1].splitlines()[2:]]
    assert any(float(row[6].split()[0].replace(",", "")) > 0 for row in rows)  # the bank's lines met the payouts
    # the 19th was not reconciled: the 18th, the last day that was, is the comparison, and it is named
    assert f"Since {DAY - timedelta(days=2)}, the last day reconciled before it: " in text


@pytest.mark.parametrize("sandbox_config", [BUSY])
def test_the_summary_says_what_changed_since_the_day_before(resources, tmp_path):
    for day in (DAY - timedelta(days=1), DAY):
        assert materialize(resources, day, LANDING + RECONCILING + REPORTING + [asset_keys.EXCEPTION_AGING]).success
    markdown = (day_folder(tmp_path / "reports", DAY) / "daily_summary.md").read_text()
    since = next(line for line in markdown.splitlines() if line.startswith("Since the day before:"))
    assert " USD at risk" in since and " missing" in since and since[len("Since the day before: ")] in "+−±"
    result = materialize(resources, DAY, [asset_keys.DAILY_SUMMARY])
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["risk_level"].value in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert isinstance(event.materialization.metadata["preview"], dg.MarkdownMetadataValue)

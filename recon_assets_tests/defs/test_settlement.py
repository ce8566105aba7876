"""The bank's statement lines: files in three formats land a day's lines, a corrected statement replaces its
account's day, a re-run changes nothing, and the sensor runs each new file's days once."""

import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster_aws.s3 import S3Resource

from recon_assets import asset_keys
from recon_assets.defs.settlement.resources import BankStatementFiles
from recon_assets.defs.settlement.sensors import bank_statement_files
from recon_assets.domain.findings import Side, names
from recon_assets.processors.registry import PROCESSORS
from recon_assets.sandbox.bank_files import StatementEntry, write_bai2, write_camt053, write_mt940
from recon_assets.sandbox.settlement import expected_settlement, payouts_arriving
from recon_assets.sandbox.world import SandboxConfig
from recon_assets.services.settlement import windows
from recon_assets_tests.defs.graph import LANDING, RECONCILING, materialize

DAY = date(2026, 11, 20)
STRIPE = StatementEntry(29_985, "USD", "STRIPE", "Payout po_1", "BR1", trace="101000019283746")
SQUARE = StatementEntry(60_000, "USD", "Square Inc", "SQ DEP", "BR2")
RENT = StatementEntry(-150_000, "USD", "Landlord", "Rent", "BR3")


def lines(url, day=DAY):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(
            """SELECT account, bank_reference, amount_minor, text, reference, source_file FROM bank_statement_lines
               WHERE booking_date = %s ORDER BY line_id""",
            (day,),
        ).fetchall()


@pytest.fixture
def folder(resources):
    path = Path(resources["bank_statements"].local_dir)
    path.mkdir(parents=True)
    (path / "2026-11-20-operating.bai2").write_text(write_bai2("OPERATING", DAY, [STRIPE, RENT]))
    (path / "2026-11-20-payouts.mt940").write_text(write_mt940("PAYOUTS", DAY, [SQUARE]))
    (path / "2026-11-21-operating.xml").write_bytes(write_camt053("OPERATING", DAY + timedelta(days=1), [SQUARE]))
    (path / "README.txt").write_text("not a statement")
    return path


def test_a_day_lands_its_lines_and_a_corrected_statement_replaces_its_account_s_day(resources, warehouse_url, folder):
    selection = [asset_keys.BANK_STATEMENT_LINES]
    assert materialize(resources, DAY, selection).success
    assert lines(warehouse_url) == [
        ("OPERATING", "BR1", 29_985, "STRIPE Payout po_1", "101000019283746", "2026-11-20-operating.bai2"),
        ("OPERATING", "BR3", -150_000, "Landlord Rent", None, "2026-11-20-operating.bai2"),
        ("PAYOUTS", "BR2", 60_000, "Square Inc SQ DEP", None, "2026-11-20-payouts.mt940"),
    ]
    corrected = folder / "2026-11-20-operating-corrected.xml"
    corrected.write_bytes(write_camt053("OPERATING", DAY, [STRIPE]))  # the rent line was booked in error
    later = (folder / "2026-11-20-operating.bai2").stat().st_mtime + 60
    os.utime(corrected, (later, later))
    for _ in range(2):  # and a re-run changes nothing
        assert materialize(resources, DAY, selection).success
        assert [(row[0], row[1], row[5]) for row in lines(warehouse_url)] == [
            ("OPERATING", "BR1", "2026-11-20-operating-corrected.xml"),
            ("PAYOUTS", "BR2", "2026-11-20-payouts.mt940"),
        ]


def test_an_unreadable_statement_fails_the_day_naming_the_file(resources, folder):
    (folder / "broken.bai2").write_text("01,garbage")
    result = materialize(resources, DAY, [asset_keys.BANK_STATEMENT_LINES], raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "bank statement broken.bai2 cannot be read" in failure.message


def test_the_sensor_runs_the_days_of_each_new_or_changed_file_once(resources, folder):
    def tick(cursor):
        with dg.build_sensor_context(cursor=cursor, resources={"bank_statements": resources["bank_statements"]}) as c:
            result = bank_statement_files(c)
        return [r.partition_key for r in result.run_requests], result.cursor

    days, cursor = tick(None)
    assert days == ["2026-11-20", "2026-11-21"]
    assert tick(cursor)[0] == []  # delivered before: nothing to do
    (folder / "2026-11-21-operating.xml").write_bytes(write_camt053("OPERATING", DAY + timedelta(days=1), [STRIPE]))
    assert tick(cursor)[0] == ["2026-11-21"]


CASH = SandboxConfig(daily_volume=60)  # small days: a day's settlement reads a fortnight around it
WEDNESDAY = date(2026, 11, 18)  # Monday's Stripe payouts and Tuesday's Square ones arrive; a weekend's late ones too
PAYOUTS = [key(p) for p in PROCESSORS for key in (asset_keys.payouts, asset_keys.payout_items)]


def settlement_findings(url, day):
    with psycopg.connect(url.libpq) as conn:
        return set(conn.execute(
            """SELECT discrepancy_type, processor_name, payout_id, bank_reference, processor_txn_id FROM discrepancies
               WHERE business_date = %s AND discrepancy_type = ANY(%s) AND resolved_on IS NULL""",
            (day, list(names(Side.SETTLEMENT))),
        ).fetchall())  # fmt: skip


def checks_of(result):
    return {e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()}


@pytest.mark.parametrize("sandbox_config", [CASH])
def test_a_day_s_settlement_is_the_sandbox_s_ground_truth_once_its_windows_close(resources, warehouse_url, tmp_path):
    resources = {**resources, "bank_statements": BankStatementFiles(
        s3=S3Resource(), local_dir=str(tmp_path / "bank"), sandbox_fill=True, sandbox_daily_volume=CASH.daily_volume,
    )}  # fmt: skip

    def run(day, selection):
        result = materialize(resources, day, selection)
        assert result.success
        return result

    for back in range(windows().lookback, -1, -1):  # the payouts and bank lines the day's window reads
        day = WEDNESDAY - timedelta(days=back)
        run(day, PAYOUTS + [asset_keys.BANK_STATEMENT_LINES] + (LANDING if back <= 3 else []))
    for day in (WEDNESDAY - timedelta(days=2), WEDNESDAY - timedelta(days=1)):  # the days the payouts settled
        run(day, RECONCILING)
    truth = expected_settlement(CASH, WEDNESDAY)
    assert {kind for kind, *_ in truth} == set(names(Side.SETTLEMENT))  # every kind of fault is in the day

    # the bank has stated the day itself only: a payout due by Friday is in transit, not missing
    early = run(WEDNESDAY, [asset_keys.PAYOUT_MATCHES])
    assert settlement_findings(warehouse_url, WEDNESDAY) == {f for f in truth if f[0] != "payout_not_in_bank"}
    metadata = early.asset_materializations_for_node("settlement__payout_matches")[0].metadata
    assert metadata["in_transit"].value >= 2

    for ahead in range(1, windows().span + 1):  # the rest of the window: the missing and the late payout are flagged
        run(WEDNESDAY + timedelta(days=ahead), [asset_keys.BANK_STATEMENT_LINES])
    for _ in range(2):  # and a re-run changes nothing
        result = run(WEDNESDAY, [asset_keys.PAYOUT_MATCHES, asset_keys.CASH_POSITION])
        assert settlement_findings(warehouse_url, WEDNESDAY) == truth  # precision and recall 1.0
    assert checks_of(result) == {"cash_tie_out": (False, "ERROR"), "fee_variance": (False, "WARN")}
    with psycopg.connect(warehouse_url.libpq) as conn:
        matched = dict(conn.execute(
            "SELECT method, count(*) FROM payout_matches WHERE arrival_date = %s GROUP BY method", (WEDNESDAY,)
        ).fetchall())  # fmt: skip
        (in_transit,) = conn.execute(
            "SELECT coalesce(sum(in_transit_minor), 0) FROM cash_positions WHERE business_date = %s", (WEDNESDAY,)
        ).fetchone()
        paid = dict(conn.execute(
            "SELECT processor_name, sum(paid_out_minor) FROM cash_positions WHERE business_date = %s"
            " GROUP BY processor_name", (WEDNESDAY,)).fetchall())  # fmt: skip
    arriving = payouts_arriving(CASH, WEDNESDAY)
    credited = [p for p in arriving if p.fault in ("", "composition", "bank_fee", "repeated_line")]
    assert sum(matched.values()) == len(credited) and matched["reference"] and matched["amount"]  # PayPal: by amount
    assert in_transit == 0  # the window has closed
    assert paid == {p: sum(x.amount_minor for x in credited if x.processor == p) for p in PROCESSORS}

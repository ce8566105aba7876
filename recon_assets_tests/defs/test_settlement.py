"""The bank's statement lines: files in three formats land a day's lines, a corrected statement replaces its
account's day, a re-run changes nothing, and the sensor runs each new file's days once."""

import os
from datetime import date, timedelta

import dagster as dg
import psycopg
import pytest

from recon_assets import asset_keys
from recon_assets.defs.settlement.sensors import bank_statement_files
from recon_assets.sandbox.bank_files import StatementEntry, write_bai2, write_camt053, write_mt940
from recon_assets_tests.defs.graph import materialize

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
    path = resources["bank_statements"]._folder()
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

"""The bank's statement lines: files in three formats land a day's lines, a corrected statement replaces its
account's day, a re-run changes nothing, and the sensor runs each new file's days once."""

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster_aws.s3 import S3Resource

from recon_assets import asset_keys
from recon_assets.defs.settlement.resources import BankStatementFiles
from recon_assets.defs.settlement.sensors import bank_statement_files, statement_days_changed
from recon_assets.domain.findings import Side, names
from recon_assets.processors.registry import PROCESSORS
from recon_assets.sandbox.bank_files import StatementEntry, write_bai2, write_camt053, write_mt940
from recon_assets.sandbox.settlement import credits_of, expected_settlement, payouts_arriving
from recon_assets.sandbox.world import SandboxConfig, world
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
    with psycopg.connect(warehouse_url.libpq) as conn:
        replaced = conn.execute(
            "SELECT entity_id, details FROM audit_logs WHERE action = 'statement_replaced'"
        ).fetchall()
        conflicts = conn.execute("SELECT account, booking_date, file_name, replaced_file FROM statement_conflicts")
        assert conflicts.fetchall() == [("OPERATING", DAY, corrected.name, "2026-11-20-operating.bai2")]
    # the replacement is audited once, with the lines it replaced and how the day's figures changed
    assert [(entity, d["replaced_files"], d["before"], d["after"]) for entity, d in replaced] == [(
        "OPERATING/2026-11-20", ["2026-11-20-operating.bai2"],
        {"lines": 2, "credits_minor": 29_985, "debits_minor": -150_000},
        {"lines": 1, "credits_minor": 29_985, "debits_minor": 0},
    )]  # fmt: skip
    assert [line[1] for line in replaced[0][1]["replaced_lines"]] == ["BR1", "BR3"]


def checksum(url, table="bank_statement_lines"):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        ).fetchone()


def test_a_bad_file_is_quarantined_with_its_reason_and_touches_nothing_landed(resources, warehouse_url, folder):
    assert materialize(resources, DAY, [asset_keys.BANK_STATEMENT_LINES]).success
    before = checksum(warehouse_url)
    (folder / "broken.bai2").write_text("01,garbage")
    (folder / "2026-11-20-operating-xyz.bai2").write_text(
        write_bai2("OPERATING", DAY, [STRIPE]).replace("OPERATING,USD", "OPERATING,XYZ")
    )  # it claims the operating account's day, and would replace it if it were read
    (folder / "2026-11-22-payouts.mt940").write_text(write_mt940("PAYOUTS", DAY + timedelta(days=2), [SQUARE]))
    result = materialize(resources, None, [asset_keys.BANK_STATEMENT_FILES])
    assert result.success  # each file on its own: the good one lands, the bad ones are set aside
    assert checksum(warehouse_url) != before
    assert [row[5] for row in lines(warehouse_url)] == ["2026-11-20-operating.bai2"] * 2 + ["2026-11-20-payouts.mt940"]
    assert [row[5] for row in lines(warehouse_url, DAY + timedelta(days=2))] == ["2026-11-22-payouts.mt940"]
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["every_file_readable"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "broken.bai2 quarantined: not a BAI2 file" in check.description
    assert "2026-11-20-operating-xyz.bai2 quarantined: account OPERATING: unknown currency 'XYZ'" in check.description
    with psycopg.connect(warehouse_url.libpq) as conn:
        quarantined = conn.execute(
            "SELECT file_name, reason FROM statement_files WHERE status = 'quarantined' ORDER BY file_name"
        ).fetchall()
    assert [name for name, _ in quarantined] == ["2026-11-20-operating-xyz.bai2", "broken.bai2"]
    assert (folder / "broken.bai2").exists()  # marked, never deleted
    # taken in once: the next run finds nothing new, and the check passes
    after = checksum(warehouse_url), checksum(warehouse_url, "statement_files")
    again = materialize(resources, None, [asset_keys.BANK_STATEMENT_FILES])
    assert all(e.passed for e in again.get_asset_check_evaluations())
    assert (checksum(warehouse_url), checksum(warehouse_url, "statement_files")) == after


def test_the_sensors_notice_new_files_and_run_the_days_they_changed(resources, warehouse_url, folder):
    def tick(cursor):
        with dg.build_sensor_context(cursor=cursor, resources={"bank_statements": resources["bank_statements"]}) as c:
            return bank_statement_files(c)

    first = tick(None)
    assert len(first.run_requests) == 1 and first.run_requests[0].partition_key is None
    assert len(first.cursor) < 200  # the newest file seen, however many there are
    assert isinstance(tick(first.cursor), dg.SkipReason)  # delivered before: nothing to do
    changed = folder / "2026-11-21-operating.xml"
    changed.write_bytes(write_camt053("OPERATING", DAY + timedelta(days=1), [STRIPE]))
    os.utime(changed, (changed.stat().st_mtime + 60,) * 2)
    assert len(tick(first.cursor).run_requests) == 1

    with dg.instance_for_test() as instance:
        assert materialize(resources, None, [asset_keys.BANK_STATEMENT_FILES], instance=instance).success
        with dg.build_sensor_context(instance=instance) as context:
            result = statement_days_changed(context)
        assert sorted(r.partition_key for r in result.run_requests) == ["2026-11-20", "2026-11-21"]
        with dg.build_sensor_context(instance=instance, cursor=result.cursor) as context:
            assert statement_days_changed(context).run_requests == []


CASH = SandboxConfig(daily_volume=60)  # small days: a day's settlement reads a fortnight around it
CONVERTING = replace(CASH, stripe_converts=("EUR", "GBP"))  # Stripe settles EUR and GBP charges in USD
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


@pytest.mark.parametrize("sandbox_config", [CASH, CONVERTING], ids=["own-currency", "converted-to-usd"])
def test_a_day_s_settlement_is_the_sandbox_s_ground_truth_once_its_windows_close(
    resources, warehouse_url, tmp_path, sandbox_config
):
    resources = {**resources, "bank_statements": BankStatementFiles(
        s3=S3Resource(), local_dir=str(tmp_path / "bank"), sandbox_fill=True, sandbox_daily_volume=CASH.daily_volume,
        sandbox_stripe_converts=",".join(sandbox_config.stripe_converts),
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
    truth = expected_settlement(sandbox_config, WEDNESDAY)
    # every kind of fault is in the day; the sandbox pays out no negative payout (a planted one is judged in
    # test_the_payout_match_judges_a_payout_taken_from_the_bank_and_an_itemised_one_without_items)
    assert {kind for kind, *_ in truth} == set(names(Side.SETTLEMENT)) - {"negative_payout"}

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
    arriving = payouts_arriving(sandbox_config, WEDNESDAY)
    stated = WEDNESDAY + timedelta(days=windows().span)  # a late credit naming its payout, once stated, matches it
    late = [p for p in arriving if p.fault == "late" and p.trace and next(day for day, _ in credits_of(p)) <= stated]
    credited = [p for p in arriving if p.fault in ("", "composition", "bank_fee", "repeated_line")] + late
    assert sum(matched.values()) == len(credited) and matched["reference"] and matched["amount"]  # PayPal: by amount
    assert in_transit == 0  # the window has closed
    assert paid == {p: sum(x.amount_minor for x in credited if x.processor == p) for p in PROCESSORS}
    if sandbox_config.stripe_converts:
        assert_settled_in_usd(resources, warehouse_url)


def assert_settled_in_usd(resources, warehouse_url):
    """Stripe's EUR and GBP charges reached the payouts in USD at the day's rate; their fees were checked in USD
    (the ground truth above has no fee variance but the planted one); the cash position of the day they were
    made shows, in its USD row, the EUR and GBP volume it came from."""
    monday = WEDNESDAY - timedelta(days=2)  # Wednesday's Stripe payouts settle Monday's charges
    assert materialize(resources, monday, [asset_keys.CASH_POSITION]).success
    with psycopg.connect(warehouse_url.libpq) as conn:
        settled = conn.execute(
            """SELECT t.currency, i.currency, count(*), bool_and(i.exchange_rate IS NOT NULL), min(i.exchange_rate)
               FROM payout_items i JOIN processor_transactions t
                 ON t.processor_name = i.processor_name AND t.processor_txn_id = i.processor_txn_id
               WHERE i.processor_name = 'stripe' AND i.arrival_date = %s GROUP BY 1, 2 ORDER BY 1""",
            (WEDNESDAY,),
        ).fetchall()
        positions = conn.execute(
            """SELECT currency, gross_minor, fees_minor, presented FROM cash_positions
               WHERE business_date = %s AND processor_name = 'stripe' ORDER BY currency""",
            (monday,),
        ).fetchall()
    by_presented = {presented: (into, converted, rate) for presented, into, _, converted, rate in settled}
    assert by_presented["EUR"][:2] == ("USD", True) and Decimal("1.0") < by_presented["EUR"][2] < Decimal("1.1")
    assert by_presented["GBP"][:2] == ("USD", True) and Decimal("1.2") < by_presented["GBP"][2] < Decimal("1.3")
    assert by_presented["USD"][:2] == ("USD", False) and by_presented["JPY"][:2] == ("JPY", False)
    currencies = [currency for currency, *_ in positions]
    assert "EUR" not in currencies and "GBP" not in currencies  # no EUR or GBP position: they settled in USD
    (usd,) = [presented for currency, _, _, presented in positions if currency == "USD"]
    assert {"EUR", "GBP", "USD"} <= set(usd)


def test_the_payout_match_judges_a_payout_taken_from_the_bank_and_an_itemised_one_without_items(
    resources, warehouse_url
):
    from recon_assets.domain.settlement import Payout, PayoutItem
    from recon_assets.warehouse.settlement import replace_payouts

    with psycopg.connect(warehouse_url.libpq) as conn:
        replace_payouts(conn, "square", DAY, [
            Payout("square", "sq_debit", -4_500, "USD", DAY, True, None, itemised=True),
            Payout("square", "sq_empty", 12_000, "USD", DAY, True, "T1", itemised=True),
        ], [PayoutItem("sq_debit", None, -4_500, item_id="e1")], "test")  # fmt: skip
        replace_payouts(conn, "stripe", DAY, [Payout("stripe", "po_manual", 5_000, "USD", DAY, True)], [], "test")
    result = materialize(resources, DAY, [asset_keys.PAYOUT_MATCHES])
    assert result.success
    with psycopg.connect(warehouse_url.libpq) as conn:
        found = conn.execute(
            """SELECT discrepancy_type, processor_name, payout_id, expected_minor, actual_minor FROM discrepancies
               WHERE business_date = %s AND discrepancy_type IN ('negative_payout', 'payout_composition_mismatch')
               ORDER BY payout_id""",
            (DAY,),
        ).fetchall()
    # the manual Stripe payout lists no items and is not judged on them
    assert found == [
        ("negative_payout", "square", "sq_debit", -4_500, None),
        ("payout_composition_mismatch", "square", "sq_empty", 12_000, 0),
    ]


def test_a_late_payout_is_matched_by_its_trace_id_when_its_line_arrives(resources, warehouse_url):
    """Square's payout of Thursday is due by Monday; its credit, carrying the payout's trace id, is booked on
    Tuesday, past the window Thursday's match reads. Tuesday's match finds it, answers Thursday's "not in
    bank", and raises no unexplained credit; Thursday matched again stays answered."""
    from recon_assets.domain.settlement import BankLine, Payout, PayoutItem
    from recon_assets.warehouse.bank import replace_account_day
    from recon_assets.warehouse.settlement import replace_payouts

    thursday, monday, tuesday = date(2026, 11, 19), date(2026, 11, 23), date(2026, 11, 24)
    trace = "L2162599495"
    with psycopg.connect(warehouse_url.libpq) as conn:
        replace_payouts(conn, "square", thursday, [Payout("square", "sq_late", 939_930, "USD", thursday, True, trace,
                                                          itemised=True)],
                        [PayoutItem("sq_late", None, 939_930, item_id="e1")], "test")  # fmt: skip
        interest = BankLine("OPERATING/2026-11-23/00000", "BI1", monday, 12, "USD", "RECON SANDBOX BANK INTEREST")
        replace_account_day(conn, "OPERATING", monday, [interest], "monday.bai2", "test")

    def open_findings(day):
        with psycopg.connect(warehouse_url.libpq) as conn:
            return conn.execute(
                """SELECT discrepancy_type, payout_id, bank_reference FROM discrepancies
                   WHERE business_date = %s AND resolved_on IS NULL""",
                (day,),
            ).fetchall()

    assert materialize(resources, thursday, [asset_keys.PAYOUT_MATCHES]).success
    assert open_findings(thursday) == [("payout_not_in_bank", "sq_late", None)]  # the window closed on Monday

    credit = BankLine("OPERATING/2026-11-24/00000", "BR77", tuesday, 939_930, "USD", "SQUARE INC TRANSFER", trace)
    with psycopg.connect(warehouse_url.libpq) as conn:
        replace_account_day(conn, "OPERATING", tuesday, [credit], "tuesday.bai2", "test")
    assert materialize(resources, tuesday, [asset_keys.PAYOUT_MATCHES]).success
    assert open_findings(tuesday) == []  # the credit names its payout: not unexplained
    assert open_findings(thursday) == []  # and Thursday's "not in bank" is answered
    with psycopg.connect(warehouse_url.libpq) as conn:
        (resolution,) = conn.execute(
            "SELECT resolution || ': ' || resolution_note FROM discrepancies WHERE payout_id = 'sq_late'"
        ).fetchone()
    assert resolution.startswith("auto_matched: its credit arrived late, booked on 2026-11-24")
    assert materialize(resources, thursday, [asset_keys.PAYOUT_MATCHES]).success  # matched again: still answered
    assert open_findings(thursday) == []


def test_the_cash_position_says_what_was_held_for_disputes_net_of_what_was_released(
    resources, warehouse_url, sandbox_config
):
    """PayPal's holds are balance movements of their own (``T1110`` held, ``T1111`` released), landed with its
    payouts; Square's hold adjustments come in its payouts' entries. Each day's position holds their net."""
    paypal = [asset_keys.payouts("paypal"), asset_keys.payout_items("paypal")]
    assert materialize(resources, DAY, paypal).success
    square_payout = "sq_payout_with_holds"
    with psycopg.connect(warehouse_url.libpq) as conn:
        conn.execute(
            """INSERT INTO payouts (processor_name, payout_id, arrival_date, amount_minor, currency, expected_in_bank,
                   itemised) VALUES ('square', %s, %s, 0, 'USD', false, true)""",
            (square_payout, DAY),
        )
        for item, kind, net in (("pe_hold", "hold", -7_000), ("pe_release", "hold_release", 2_500)):
            conn.execute(
                """INSERT INTO payout_items (processor_name, payout_id, item_id, arrival_date, kind, gross_minor,
                       fee_minor, net_minor, currency) VALUES ('square', %s, %s, %s, %s, %s, 0, %s, 'USD')""",
                (square_payout, item, DAY, kind, net, net),
            )
    assert materialize(resources, DAY, [asset_keys.CASH_POSITION]).success
    with psycopg.connect(warehouse_url.libpq) as conn:
        held = dict(conn.execute(
            "SELECT processor_name, on_hold_minor FROM cash_positions WHERE business_date = %s AND on_hold_minor <> 0",
            (DAY,),
        ).fetchall())  # fmt: skip
        landed = conn.execute(
            "SELECT hold_id, kind, amount_minor FROM balance_holds"
            " WHERE processor_name = 'paypal' AND business_date = %s",
            (DAY,),
        ).fetchall()
    moved = [d for d in world(sandbox_config, "paypal", DAY).disputes.movements if not d.is_transaction]
    assert sorted(landed) == sorted((d.txn_id, d.kind, d.amount_minor) for d in moved) and len(moved) == 2
    assert held == {"paypal": -sum(d.amount_minor for d in moved), "square": 4_500}
    assert held["paypal"] != 0  # one dispute's funds held, another's released: different amounts

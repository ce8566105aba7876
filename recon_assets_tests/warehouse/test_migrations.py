"""Migrations convert a warehouse in place: 0009 makes the per-type count columns of the runs already written
their ``finding_counts`` object, and its downgrade brings the columns back with the same figures; 0015 keys a
record by id and kind, and gives the outcomes already written their record's kind; 0017 moves the day-keyed
tables' rows into partitions of their days, and back; 0019 does the same for payout items, by arrival date."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from recon_assets.warehouse.database import upgrade
from recon_assets_tests.warehouse.migrating import downgrade

OLD_COUNTS = {"missing_in_ledger": 4, "duplicate": 1, "suggested_match": 2, "fee_variance": 3}
TYPES_0008 = (
    "missing_in_ledger", "missing_at_processor", "amount_mismatch", "currency_mismatch", "status_mismatch",
    "duplicate", "group_amount_mismatch", "suggested_match", "payout_not_in_bank", "unexplained_bank_credit",
    "payout_amount_mismatch", "payout_composition_mismatch", "paid_out_not_booked", "fee_variance",
)  # fmt: skip


def run_rows(url, columns: str):
    engine = create_engine(url.sqlalchemy)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT {columns} FROM reconciliation_runs")).fetchall()  # noqa: S608
    finally:
        engine.dispose()


def test_0009_moves_the_counts_into_json_and_back(fresh_database):
    upgrade(fresh_database, "0008")
    counts = {f"{kind}_count": OLD_COUNTS.get(kind, 0) for kind in TYPES_0008}
    engine = create_engine(fresh_database.sqlalchemy)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"""INSERT INTO reconciliation_runs (run_date, processor_name, processor_transaction_count,
                        internal_transaction_count, matched_count, missing_transaction_count, not_booked_failed_count,
                        {", ".join(counts)}, total_discrepancy_amount, total_volume_processed, reporting_currency,
                        discrepancy_rate, risk_level, started_at, finished_at, status)
                    VALUES ('2026-11-20', 'stripe', 10, 10, 2, 4, 0, {", ".join(f":{c}" for c in counts)}, 1, 2,
                        'USD', 0.4, 'LOW', now(), now(), 'completed')"""  # noqa: S608 - fixed column names
            ),
            counts,
        )
    engine.dispose()
    upgrade(fresh_database)
    ((written,),) = run_rows(fresh_database, "finding_counts")
    assert written == {kind: OLD_COUNTS.get(kind, 0) for kind in TYPES_0008}
    downgrade(fresh_database, "0008")
    (row,) = run_rows(fresh_database, ", ".join(counts))
    assert dict(zip(counts, row, strict=True)) == counts


def _execute(url, statement: str) -> list:
    engine = create_engine(url.sqlalchemy)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return result.fetchall() if result.returns_rows else []
    finally:
        engine.dispose()


RECORD = """INSERT INTO processor_transactions (business_date, processor_name, processor_txn_id, kind, amount_minor,
    currency, status, occurred_at, raw) VALUES ('2026-11-20', 'stripe', '{id}', '{kind}', {amount}, 'USD',
    'succeeded', '2026-11-20T10:00:00Z', '{{}}')"""


def test_0015_keys_a_record_by_id_and_kind_and_gives_earlier_outcomes_their_kind(fresh_database):
    upgrade(fresh_database, "0014")
    _execute(fresh_database, RECORD.format(id="re_1", kind="refund", amount=-500))
    _execute(
        fresh_database,
        """INSERT INTO transaction_outcomes (business_date, processor_name, processor_txn_id,
        outcome) VALUES ('2026-11-20', 'stripe', 're_1', 'matched')""",
    )
    upgrade(fresh_database)
    assert _execute(fresh_database, "SELECT processor_txn_id, kind FROM transaction_outcomes") == [("re_1", "refund")]
    # a dispute's withdrawal and its fee under one reference: two records
    _execute(fresh_database, RECORD.format(id="dp_1", kind="chargeback", amount=-5_000))
    _execute(fresh_database, RECORD.format(id="dp_1", kind="dispute_fee", amount=-1_500))
    downgrade(fresh_database, "0014")  # back to one record per id: the first kind by name stays
    assert _execute(fresh_database, "SELECT processor_txn_id, kind FROM processor_transactions ORDER BY 1") == [
        ("dp_1", "chargeback"), ("re_1", "refund"),
    ]  # fmt: skip


DAY_TABLES = ("balance_holds", "cash_positions", "ledger_transactions", "payout_items", "processor_transactions",
              "source_pages", "transaction_outcomes")  # fmt: skip
LEDGER_ENTRY = """INSERT INTO ledger_transactions (ledger_id, business_date, processor_name, processor_reference,
    kind, amount_minor, currency, status, booked_at, raw) VALUES ('{id}', '{day}', 'stripe', 'ch_1', 'charge', 100,
    'USD', 'succeeded', '{day}T10:00:00Z', '{{}}')"""


def _partitions(url) -> list[tuple[str, str]]:
    return _execute(
        url,
        """SELECT parent.relname, child.relname FROM pg_inherits i JOIN pg_class parent ON parent.oid = i.inhparent
           JOIN pg_class child ON child.oid = i.inhrelid WHERE parent.relkind = 'p' ORDER BY 1, 2""",
    )


def test_0017_moves_a_warehouse_s_rows_into_day_partitions_and_back(fresh_database):
    upgrade(fresh_database, "0016")
    for record_id in ("ch_1", "ch_2"):
        _execute(fresh_database, RECORD.format(id=record_id, kind="charge", amount=1_000))
    _execute(fresh_database, RECORD.format(id="ch_3", kind="charge", amount=7).replace("2026-11-20", "2026-11-21"))
    _execute(fresh_database, LEDGER_ENTRY.format(id="led_1", day="2026-11-19"))
    _execute(
        fresh_database,
        """INSERT INTO transaction_outcomes (business_date, processor_name, processor_txn_id, kind, outcome,
        ledger_id) VALUES ('2026-11-20', 'stripe', 'ch_1', 'charge', 'matched', 'led_1')""",
    )
    records = "SELECT business_date::text, processor_txn_id, amount_minor FROM processor_transactions ORDER BY 2"
    before = _execute(fresh_database, records)
    upgrade(fresh_database)
    assert _execute(fresh_database, records) == before
    assert _execute(fresh_database, "SELECT processor_txn_id, ledger_id FROM matched_transactions") == [
        ("ch_1", "led_1")
    ]
    held = {f"{table}_{day}" for table in DAY_TABLES for day in ("20261119", "20261120", "20261121")}
    assert set(_partitions(fresh_database)) == {(name.rsplit("_", 1)[0], name) for name in held}
    assert _execute(fresh_database, "SELECT relkind::text FROM pg_class WHERE relname = 'ledger_transactions'") == [
        ("p",)
    ]
    # a new day: its partitions made by the function the landing calls, once
    assert _execute(fresh_database, "SELECT recon_day_partitions('2026-11-22')") == [(len(DAY_TABLES),)]
    assert _execute(fresh_database, "SELECT recon_day_partitions('2026-11-22')") == [(0,)]
    _execute(fresh_database, LEDGER_ENTRY.format(id="led_2", day="2026-11-22"))
    downgrade(fresh_database, "0016")
    assert _execute(fresh_database, records) == before
    assert _partitions(fresh_database) == []
    entries = "SELECT ledger_id, business_date::text FROM ledger_transactions ORDER BY 1"
    assert _execute(fresh_database, entries) == [("led_1", "2026-11-19"), ("led_2", "2026-11-22")]
    with pytest.raises(IntegrityError):  # the whole table's key is back: an id once across all days
        _execute(fresh_database, LEDGER_ENTRY.format(id="led_1", day="2026-11-25"))


PAYOUT_ITEM = """INSERT INTO payout_items (processor_name, payout_id, item_id, arrival_date, processor_txn_id, kind,
    gross_minor, fee_minor, net_minor, currency) VALUES ('stripe', '{payout}', '{item}', '{day}', 'ch_1', 'charge',
    1000, 30, 970, 'USD')"""


def test_0019_moves_payout_items_into_their_arrival_days_and_back(fresh_database):
    upgrade(fresh_database, "0018")
    _execute(fresh_database, "SELECT recon_day_partitions('2026-11-19')")  # a day held before the items
    _execute(fresh_database, LEDGER_ENTRY.format(id="led_1", day="2026-11-19"))
    _execute(fresh_database, PAYOUT_ITEM.format(payout="po_1", item="txn_1", day="2026-11-20"))
    _execute(fresh_database, PAYOUT_ITEM.format(payout="po_2", item="txn_2", day="2026-11-23"))
    items = "SELECT payout_id, item_id, arrival_date::text, net_minor FROM payout_items ORDER BY 1"
    before = _execute(fresh_database, items)
    upgrade(fresh_database)
    assert _execute(fresh_database, items) == before
    assert {child for parent, child in _partitions(fresh_database) if parent == "payout_items"} == {
        "payout_items_20261119", "payout_items_20261120", "payout_items_20261123",
    }  # fmt: skip
    # every day held has every day table's partition: the days of the items got the others' too
    assert {child for _, child in _partitions(fresh_database) if child.endswith("20261123")} == {
        f"{table}_20261123" for table in DAY_TABLES
    }
    downgrade(fresh_database, "0018")
    assert _execute(fresh_database, items) == before
    assert "payout_items" not in {parent for parent, _ in _partitions(fresh_database)}
    with pytest.raises(IntegrityError):  # a payout's item once, whatever its day
        _execute(fresh_database, PAYOUT_ITEM.format(payout="po_1", item="txn_1", day="2026-11-24"))

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import psycopg
import pyarrow as pa
import pytest

from recon_assets.domain.records import PROCESSOR_RECORD
from recon_assets.warehouse import landing, store
from recon_assets.warehouse.database import MIGRATIONS, check_reachable, upgrade
from recon_assets.warehouse.landing import PROCESSOR_TRANSACTIONS
from recon_assets.warehouse.urls import ConfigurationError, DatabaseUrl

TABLES = {
    "processor_transactions", "ledger_transactions", "discrepancies", "reconciliation_runs", "audit_logs",
    "transaction_outcomes", "quarantined_records", "currency_exponents", "source_pages",
}  # fmt: skip


def test_migrations_create_the_schema_once(fresh_database):
    (newest,) = sorted(p.stem.split("_")[0] for p in MIGRATIONS.glob("versions/0*.py"))[-1:]
    assert upgrade(fresh_database) == [newest]
    assert upgrade(fresh_database) == []
    with psycopg.connect(fresh_database.libpq) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables >= TABLES
        # the original system's query runs unchanged
        assert (
            conn.execute(
                "SELECT processor_name, missing_transaction_count, total_discrepancy_amount FROM reconciliation_runs"
            ).fetchall()
            == []
        )
        assert conn.execute("SELECT * FROM missing_transactions").fetchall() == []


def test_audit_log_is_append_only(warehouse_url):
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        store.audit(conn, "test", "did", "thing", "1", {"a": 1})
        for statement in ("UPDATE audit_logs SET actor = 'x'", "DELETE FROM audit_logs", "TRUNCATE audit_logs"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT actor, details->>'a' FROM audit_logs").fetchall() == [("test", "1")]


def _rows(day: date, *txn_ids: str) -> pa.Table:
    """A batch of landed rows: one USD 1.00 charge per id."""
    count = len(txn_ids)
    records = PROCESSOR_RECORD.table({
        "processor_txn_id": list(txn_ids), "kind": ["charge"] * count, "amount_minor": [100] * count,
        "currency": ["USD"] * count, "fee_minor": [0] * count, "status": ["succeeded"] * count,
        "occurred_at": [datetime(2026, 1, 1, 10, tzinfo=UTC)] * count, "order_reference": [None] * count,
    })  # fmt: skip
    records = records.append_column("page_no", pa.array([1] * count, pa.int32()))
    records = records.append_column("page_index", pa.array(range(count), pa.int32()))
    return PROCESSOR_TRANSACTIONS.rows("stripe", day, records, "run")


def test_a_partition_write_failing_half_way_keeps_the_previous_rows(warehouse_url):
    day = date(2026, 1, 1)

    def replace(batches):
        store.make_day_partitions(conn, day)
        with conn.transaction():
            landing.clear_partition(conn, PROCESSOR_TRANSACTIONS, "stripe", day)
            for batch in batches:
                store.copy_table(conn, PROCESSOR_TRANSACTIONS.name, batch)

    with psycopg.connect(warehouse_url.libpq) as conn:
        replace([_rows(day, "a", "b")])

        def failing_batches():
            yield _rows(day, "c")
            raise ConnectionError("feed broke mid-fetch")

        with pytest.raises(ConnectionError):
            replace(failing_batches())
        ids = [r[0] for r in conn.execute("SELECT processor_txn_id FROM processor_transactions ORDER BY 1")]
        assert ids == ["a", "b"]
        # a re-run replaces, never duplicates
        for _ in range(2):
            replace([_rows(day, "a"), _rows(day, "c")])
        ids = [r[0] for r in conn.execute("SELECT processor_txn_id FROM processor_transactions ORDER BY 1")]
        assert ids == ["a", "c"]


def test_plain_urls_are_rewritten_per_driver():
    url = DatabaseUrl.parse("postgresql://u:p%40ss@db.example:5432/recon")
    assert url.sqlalchemy.startswith("postgresql+psycopg://u:p%40ss@db.example:5432/recon")
    assert url.dagster_storage.startswith("postgresql+psycopg2://")
    assert "p%40ss" not in url.redacted


@pytest.mark.parametrize("raw", ["mysql://u@h/db", "not a url", "postgresql://u@h"])
def test_bad_urls_name_the_variable(raw):
    with pytest.raises(ConfigurationError, match="RECON_DATABASE_URL"):
        DatabaseUrl.parse(raw)


def test_unreachable_server_fails_fast_with_one_line():
    with pytest.raises(ConfigurationError) as info:
        check_reachable(DatabaseUrl.parse("postgresql://postgres@127.0.0.1:1/recon"))
    message = str(info.value)
    assert "RECON_DATABASE_URL" in message and "\n" not in message and "\t" not in message
    assert "Connection refused" in message  # the driver's reason is kept


def test_cli_reports_bad_configuration_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "recon_assets.cli", "db", "upgrade"],
        env={"RECON_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/recon", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("recon: error: RECON_DATABASE_URL")


def test_a_record_landed_again_on_a_neighbouring_day_is_refused(warehouse_url):
    """An id is unique within its day by the key, and across the days either side of it by the landing's
    check: a record the source moved up to NEIGHBOUR_DAYS away is refused, naming the record and its day."""
    day = date(2026, 2, 10)

    def land(on: date, *ids: str) -> None:
        store.make_day_partitions(conn, on)
        with conn.transaction():
            landing.clear_partition(conn, PROCESSOR_TRANSACTIONS, "stripe", on)
            store.copy_table(conn, PROCESSOR_TRANSACTIONS.name, _rows(on, *ids))
            landing.refuse_moved_records(conn, PROCESSOR_TRANSACTIONS, "stripe", on)

    with psycopg.connect(warehouse_url.libpq) as conn:
        land(day, "moved", "kept")
        land(day, "moved", "kept")  # the same day again: replaced, not a move
        for offset in (-landing.NEIGHBOUR_DAYS, -1, 1, landing.NEIGHBOUR_DAYS):
            other = day + timedelta(days=offset)
            with pytest.raises(landing.AlreadyLanded, match=f"moved on {day}"):
                land(other, "fresh", "moved")
            assert conn.execute(  # the refused day holds nothing
                "SELECT count(*) FROM processor_transactions WHERE business_date = %s", (other,)
            ).fetchone() == (0,)
        far = day + timedelta(days=landing.NEIGHBOUR_DAYS + 1)
        land(far, "moved")  # beyond the neighbours: not looked at
        held = conn.execute(
            "SELECT business_date FROM processor_transactions WHERE processor_txn_id = 'moved' ORDER BY 1"
        ).fetchall()
        assert held == [(day,), (far,)]

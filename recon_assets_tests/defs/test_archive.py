"""Old days leave the hot database and come back (issue 29): a reconciled day archived from the CLI leaves its
partitions as verified Parquet copies, keeps its findings, summary and audit, refuses to be reconciled while
away (nor landed, settled or given a cash position), and once restored holds the same rows and reconciles to
the same findings; the launchpad jobs do the same work."""

from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from recon_assets import asset_keys, cli
from recon_assets.definitions import build_definitions
from recon_assets.warehouse.database import prepared_url
from recon_assets_tests.defs.graph import materialize

DAY = date(2026, 11, 20)
AWAY = f"{DAY} archived (recon restore --date DAY brings a day back)"  # why a day away is not touched
STRIPE_DAY = [
    asset_keys.landed("ledger"),
    *(key("stripe") for key in (asset_keys.landed, asset_keys.discrepancies, asset_keys.reconciliation_summary)),
]
DAY_TABLES = ("balance_holds", "cash_positions", "ledger_transactions", "processor_transactions", "source_pages",
              "transaction_outcomes")  # fmt: skip
HELD = {  # what the day is, row for row
    "records": "SELECT * FROM processor_transactions WHERE business_date = %s ORDER BY processor_txn_id, kind",
    "entries": "SELECT * FROM ledger_transactions WHERE business_date = %s ORDER BY ledger_id",
    "pages": "SELECT * FROM source_pages WHERE business_date = %s ORDER BY source, page_no",
    "outcomes": "SELECT * FROM transaction_outcomes WHERE business_date = %s ORDER BY processor_txn_id, kind",
}
FINDINGS = """SELECT discrepancy_type, processor_txn_id, kind, ledger_id, processor_amount_minor, amount_at_risk,
                     state FROM discrepancies WHERE business_date = %s ORDER BY 1, 2, 3, 4"""


def rows(url, query, *params):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(query, params).fetchall()


def day_partitions(url, day: date) -> list[str]:
    return [name for (name,) in rows(url, "SELECT relname::text FROM pg_class WHERE relname LIKE %s ORDER BY 1",
                                     f"%\\_{day:%Y%m%d}")]  # fmt: skip


def step_failure(result) -> str:
    """The one step failure of a run, as the UI shows it (one line: ``dagster...Failure: <why>``)."""
    (failure,) = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    return failure.event_specific_data.error.message.strip()


@pytest.fixture
def recon(warehouse_url, tmp_path, monkeypatch, capsys):
    """``recon ...`` in process, on the test warehouse and the resources' report folder: (exit code, output)."""
    monkeypatch.setenv("RECON_DATABASE_URL", warehouse_url.libpq)
    monkeypatch.setenv("RECON_REPORTS_DIR", str(tmp_path / "reports"))
    prepared_url.cache_clear()

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    yield run
    prepared_url.cache_clear()


def test_an_archived_day_comes_back_and_reconciles_to_the_same_findings(resources, warehouse_url, tmp_path, recon):
    assert materialize(resources, DAY, STRIPE_DAY).success
    before = {name: rows(warehouse_url, query, DAY) for name, query in HELD.items()}
    findings = rows(warehouse_url, FINDINGS, DAY)
    assert findings and all(before.values())
    summary = "SELECT processor_name, risk_level, finding_counts FROM reconciliation_runs WHERE run_date = %s"
    summaries = rows(warehouse_url, summary, DAY)

    code, out = recon("archive", "--before", (DAY + timedelta(days=1)).isoformat(), "--actor", "alice")
    assert code == 0 and f"archived 1 day(s) before {DAY + timedelta(days=1)}" in out, out
    assert day_partitions(warehouse_url, DAY) == []  # detached and dropped
    for table in DAY_TABLES:
        assert rows(warehouse_url, f"SELECT count(*) FROM {table} WHERE business_date = %s", DAY) == [(0,)]  # noqa: S608
    assert rows(warehouse_url, FINDINGS, DAY) == findings and rows(warehouse_url, summary, DAY) == summaries
    copies = Path(tmp_path / "reports" / "archive" / DAY.isoformat())
    assert pq.read_table(copies / "processor_transactions.parquet").num_rows == len(before["records"])
    assert pq.read_table(copies / "ledger_transactions.parquet").num_rows == len(before["entries"])
    audited = "SELECT actor, details->'copies' FROM audit_logs WHERE action = 'day_archived' AND entity_id = %s"
    ((actor, copied),) = rows(warehouse_url, audited, DAY.isoformat())
    assert actor == "alice" and copied["processor_transactions"]["rows"] == len(before["records"])

    # away, the day is not reconciled: its findings are left as they were, and the check says why
    result = materialize(resources, DAY, [asset_keys.discrepancies("stripe")], raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "archived (recon restore" in evaluation.description
    assert rows(warehouse_url, FINDINGS, DAY) == findings
    # nor landed again a table at a time: it comes back whole, by its restore
    result = materialize(resources, DAY, [asset_keys.landed("stripe")], raise_on_error=False)
    assert step_failure(result).endswith(f"Failure: nothing written to {DAY}: {AWAY}")
    assert day_partitions(warehouse_url, DAY) == []

    code, out = recon("restore", "--date", DAY.isoformat(), "--actor", "bob")
    assert code == 0 and f"restored {DAY}: " in out, out
    assert {name: rows(warehouse_url, query, DAY) for name, query in HELD.items()} == before
    code, out = recon("restore", "--date", DAY.isoformat())
    assert code == 1 and out == f"recon: error: {DAY} is not archived: nothing to restore\n"
    assert materialize(resources, DAY, STRIPE_DAY[2:]).success  # reconciled again, on the restored rows
    assert rows(warehouse_url, FINDINGS, DAY) == findings
    assert rows(warehouse_url, "SELECT actor FROM audit_logs WHERE action = 'day_restored'") == [("bob",)]


def test_a_copy_changed_in_the_store_is_not_restored(resources, warehouse_url, tmp_path, recon):
    assert materialize(resources, DAY, STRIPE_DAY[:2]).success
    assert recon("archive", "--before", (DAY + timedelta(days=1)).isoformat())[0] == 0
    copy = tmp_path / "reports" / "archive" / DAY.isoformat() / "ledger_transactions.parquet"
    copy.write_bytes(copy.read_bytes() + b"\0")
    code, out = recon("restore", "--date", DAY.isoformat())
    assert code == 1 and "ledger_transactions" in out and "SHA-256 differs" in out, out
    assert day_partitions(warehouse_url, DAY) == []  # nothing restored


def test_the_launchpad_jobs_archive_and_restore(resources, warehouse_url):
    assert materialize(resources, DAY, STRIPE_DAY[:2]).success
    entries = rows(warehouse_url, HELD["entries"], DAY)
    defs = build_definitions()
    job_resources = {k: resources[k] for k in ("warehouse", "report_store")}
    config = {"ops": {"archive_old_days": {"config": {"before": "2026-11-21", "actor": "carol"}}}}
    result = defs.resolve_job_def("archive_days").execute_in_process(run_config=config, resources=job_resources)
    assert result.success and result.output_for_node("archive_old_days") == [DAY.isoformat()]
    assert rows(warehouse_url, HELD["entries"], DAY) == []
    config = {"ops": {"restore_archived_day": {"config": {"date": DAY.isoformat(), "actor": "carol"}}}}
    result = defs.resolve_job_def("restore_day").execute_in_process(run_config=config, resources=job_resources)
    assert result.success and rows(warehouse_url, HELD["entries"], DAY) == entries
    bad = {"ops": {"archive_old_days": {"config": {"before": "yesterday", "actor": "carol"}}}}
    failed = defs.resolve_job_def("archive_days").execute_in_process(
        run_config=bad, resources=job_resources, raise_on_error=False
    )
    assert "before: not a date: 'yesterday'" in step_failure(failed)


def test_a_day_s_payout_items_leave_with_it_and_its_cash_waits_for_its_return(resources, warehouse_url, recon):
    payouts = [asset_keys.payouts("stripe"), asset_keys.payout_items("stripe")]
    assert materialize(resources, DAY, payouts).success
    items = "SELECT * FROM payout_items WHERE arrival_date = %s ORDER BY payout_id, item_id"
    landed, paid = rows(warehouse_url, items, DAY), rows(warehouse_url, "SELECT * FROM payouts ORDER BY 2")
    assert landed and paid
    assert recon("archive", "--before", (DAY + timedelta(days=1)).isoformat())[0] == 0
    assert rows(warehouse_url, items, DAY) == []
    assert rows(warehouse_url, "SELECT * FROM payouts ORDER BY 2") == paid  # a payout's row stays: its id's key

    # away, the day is neither settled nor given a cash position from nothing: each says why, in one line
    for keys, refused in (([asset_keys.PAYOUT_MATCHES], f"{DAY} is not settled"),
                          ([asset_keys.CASH_POSITION], f"no cash position for {DAY}"),
                          (payouts, f"nothing written to {DAY}")):  # fmt: skip
        result = materialize(resources, DAY, keys, raise_on_error=False)
        assert step_failure(result).endswith(f"Failure: {refused}: {AWAY}")
    assert day_partitions(warehouse_url, DAY) == []

    assert recon("restore", "--date", DAY.isoformat())[0] == 0
    assert rows(warehouse_url, items, DAY) == landed
    assert materialize(resources, DAY, [asset_keys.PAYOUT_MATCHES, asset_keys.CASH_POSITION]).success

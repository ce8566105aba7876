"""The whole code location loads; materialising days lands, reconciles and keeps history."""

from datetime import date

import dagster as dg
import psycopg
import pytest
import requests

from recon_assets.definitions import build_definitions
from recon_assets.defs.ingestion.resources import StripeApiResource
from recon_assets.processors.registry import PROCESSORS
from recon_assets.sandbox.world import SandboxConfig, expected_findings
from recon_assets_tests.defs.graph import LANDING, RECONCILING, materialize

DAY = date(2026, 11, 20)


def test_definitions_graph():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for p in PROCESSORS:
        assert {f"{p}/raw_transactions", f"{p}/discrepancies", f"{p}/reconciliation_summary"} <= keys
    assert {"ledger/transactions", "reconciliation/open_discrepancies", "reconciliation/exception_aging",
            "reporting/daily_summary"} <= keys  # fmt: skip
    assert {f"{p}/reconciliation_report" for p in PROCESSORS} <= keys
    assert {job.name for job in defs.jobs} >= {"daily_reconciliation", "resolve_discrepancies", "assign_discrepancies"}
    assert {s.name for s in defs.sensors} == {"check_alerts", "run_failure_alerts", "exception_sla_alerts"}
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"ingestion", "reconciliation", "reporting"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:finance-operations"] and node.kinds and node.description, key
    discrepancies = graph.get(dg.AssetKey(["stripe", "discrepancies"]))
    assert discrepancies.parent_keys == {
        dg.AssetKey(["stripe", "raw_transactions"]),
        dg.AssetKey(["ledger", "transactions"]),
    }
    schedule = defs.resolve_schedule_def("daily_reconciliation_0400_utc")
    assert schedule.cron_schedule == "0 4 * * *" and schedule.execution_timezone == "UTC"
    checks = {c.name for c in graph.asset_check_keys}
    assert {"data_quality", "volume", "reconciliation_invariants", "risk_threshold"} <= checks


def findings(url, processor, day):
    """Open (type, processor_txn_id, ledger_id) findings of one processor's day."""
    with psycopg.connect(url.libpq) as conn:
        rows = conn.execute(
            """SELECT discrepancy_type, processor_txn_id, ledger_id FROM discrepancies
               WHERE processor_name = %s AND business_date = %s AND resolved_on IS NULL""",
            (processor, day),
        ).fetchall()
    return set(rows)


def test_a_day_reconciles_to_the_sandbox_ground_truth(resources, warehouse_url, sandbox_config):
    for day in ("2026-11-19", "2026-11-21"):
        assert materialize(resources, date.fromisoformat(day), LANDING).success
    selection = LANDING + RECONCILING
    assert materialize(resources, DAY, selection).success
    for p in PROCESSORS:
        truth = expected_findings(sandbox_config, p, DAY)
        got = {(t, txn, lid) for t, txn, lid in findings(warehouse_url, p, DAY)}
        normalised_truth = {(t, txn if t != "missing_at_processor" else None, lid) for t, txn, lid in truth}
        normalised_got = {(t, txn if t != "missing_at_processor" else None, lid) for t, txn, lid in got}
        assert normalised_got == normalised_truth, p  # precision and recall 1.0
    with psycopg.connect(warehouse_url.libpq) as conn:
        before = conn.execute("SELECT count(*), sum(amount_minor) FROM processor_transactions").fetchone()
        runs = conn.execute(
            "SELECT processor_name, missing_transaction_count, total_discrepancy_amount, risk_level"
            " FROM reconciliation_runs"
        ).fetchall()
    assert len(runs) == 3
    # idempotent: the same day again leaves identical rows
    assert materialize(resources, DAY, selection).success
    with psycopg.connect(warehouse_url.libpq) as conn:
        assert conn.execute("SELECT count(*), sum(amount_minor) FROM processor_transactions").fetchone() == before
        assert conn.execute("SELECT count(*) FROM reconciliation_runs").fetchone() == (3,)


def test_neighbour_arriving_late_resolves_cross_midnight_items(resources, warehouse_url):
    selection = LANDING + RECONCILING
    assert materialize(resources, DAY, selection).success
    early = findings(warehouse_url, "stripe", DAY)
    # without the next day's ledger, payments just before midnight look missing
    assert materialize(resources, date(2026, 11, 21), LANDING).success
    assert materialize(resources, date(2026, 11, 19), LANDING).success
    assert materialize(resources, DAY, selection).success
    late = findings(warehouse_url, "stripe", DAY)
    resolved = early - late
    assert resolved, "the cross-midnight payments should resolve once the neighbours land"
    with psycopg.connect(warehouse_url.libpq) as conn:
        (audited,) = conn.execute(
            "SELECT count(*) FROM audit_logs WHERE action = 'discrepancy_resolved' AND details->>'processor' = 'stripe'"
        ).fetchone()
        (kept,) = conn.execute(
            "SELECT count(*) FROM discrepancies WHERE resolution = 'auto_matched' AND processor_name = 'stripe'"
        ).fetchone()
    assert audited == kept == len(resolved)


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=80, bad_currency_records=1)])
def test_quarantine_fails_the_blocking_check_and_stops_reconciliation(resources):
    result = materialize(resources, DAY, LANDING + RECONCILING, raise_on_error=False)
    checks = {
        (e.asset_check_key.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks[("stripe/raw_transactions", "data_quality")] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "stripe/discrepancies" not in materialized


def stripe_rows(url, day):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(
            """SELECT count(*), coalesce(sum(amount_minor), 0) FROM processor_transactions
               WHERE processor_name = 'stripe' AND business_date = %s""",
            (day,),
        ).fetchone()


def test_failure_mid_fetch_leaves_the_partition_as_it_was(resources, sandbox, warehouse_url):
    resources = {**resources, "stripe_api": StripeApiResource(base_url=sandbox.url, max_attempts=2, fetch_windows=4)}
    stripe_day = [dg.AssetKey(["stripe", "raw_transactions"])]
    assert materialize(resources, DAY, stripe_day).success
    landed = stripe_rows(warehouse_url, DAY)
    assert landed[0] > 0
    # pages 1-2 arrive and stream into the partition's COPY, then the API fails for good
    fault = {"path_prefix": "/v1/charges", "status": 500, "count": 1000, "after": 2}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=5).raise_for_status()
    for day, expected in ((DAY, landed), (date(2026, 11, 18), (0, 0))):  # re-landed day, and a new one
        assert not materialize(resources, day, stripe_day, raise_on_error=False).success
        assert stripe_rows(warehouse_url, day) == expected  # all of the old partition, none of the new
    requests.post(f"{sandbox.url}/_sandbox/faults/clear", timeout=5).raise_for_status()
    assert materialize(resources, DAY, stripe_day).success
    assert stripe_rows(warehouse_url, DAY) == landed


def test_a_late_neighbour_triggers_the_day_through_automation(resources):
    """The automation condition asks for an already-reconciled day again when a neighbour day changes."""
    defs = build_definitions()
    reconciled = [dg.AssetKey(["stripe", "raw_transactions"]), dg.AssetKey(["ledger", "transactions"]),
                  dg.AssetKey(["stripe", "discrepancies"])]  # fmt: skip
    target = dg.AssetSelection.keys(dg.AssetKey(["stripe", "discrepancies"]))
    with dg.instance_for_test() as instance:
        assert materialize(resources, DAY, reconciled, instance=instance).success
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=target)
        assert first.total_requested == 0  # nothing changed since the day was reconciled
        assert materialize(resources, date(2026, 11, 21), [dg.AssetKey(["ledger", "transactions"])],
                           instance=instance).success  # fmt: skip
        late = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=target, cursor=first.cursor
        )
        requested = late.get_requested_partitions(dg.AssetKey(["stripe", "discrepancies"]))
        assert requested == {DAY.isoformat()}  # the reconciled day only; 11-21 was never reconciled

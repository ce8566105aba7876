"""The whole code location loads; materialising days lands, reconciles and keeps history."""

import json
from datetime import date
from decimal import Decimal

import dagster as dg
import psycopg
import pytest
import requests

from recon_assets import asset_keys
from recon_assets.definitions import build_definitions
from recon_assets.defs.ingestion.resources import SourceApiResource
from recon_assets.processors.registry import PROCESSORS, SOURCES
from recon_assets.sandbox.disputes import DISPUTE_PROCESSORS
from recon_assets.sandbox.world import SandboxConfig, expected_findings, processor_movements, world
from recon_assets.warehouse.database import pending_migrations
from recon_assets_tests.defs.graph import LANDING, RECONCILING, materialize
from recon_assets_tests.warehouse.migrating import convert_to_day_partitions

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
    assert {job.name for job in defs.jobs} >= {
        "daily_reconciliation",
        "resolve_discrepancies",
        "assign_discrepancies",
        "manual_match",
    }
    assert {s.name for s in defs.sensors} == {
        "check_alerts", "run_failure_alerts", "exception_sla_alerts", "bank_statement_files", "statement_days_changed",
    }  # fmt: skip
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {*SOURCES, "reconciliation", "reporting", "settlement"}  # a box per source in the graph
    assert "bank/statement_lines" in keys
    # the cash side: the bank's lines, the match against the bank, the position; each processor's payouts
    # and their items in the processor's own box
    settlement = {
        "bank/statement_files",
        "bank/statement_lines",
        "settlement/payout_matches",
        "settlement/cash_position",
    }
    assert {k for k in keys if graph.get(dg.AssetKey.from_user_string(k)).group_name == "settlement"} == settlement
    for p in PROCESSORS:
        assert graph.get(asset_keys.payouts(p)).group_name == graph.get(asset_keys.payout_items(p)).group_name == p
    matches = graph.get(asset_keys.PAYOUT_MATCHES)
    assert matches.parent_keys == {asset_keys.BANK_STATEMENT_LINES,
                                   *(key(p) for p in PROCESSORS for key in (asset_keys.payout_items,
                                                                             asset_keys.discrepancies))}  # fmt: skip
    assert asset_keys.PAYOUT_MATCHES in graph.get(asset_keys.reconciliation_summary("stripe")).parent_keys
    for p in PROCESSORS:  # each processor's chain in its own group, with the processor as a kind
        for key in (asset_keys.raw_transactions(p), asset_keys.discrepancies(p), asset_keys.reconciliation_summary(p),
                    asset_keys.reconciliation_report(p)):  # fmt: skip
            assert graph.get(key).group_name == p and p in graph.get(key).kinds, key
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
    assert {"data_quality", "quarantine", "large_amounts", "volume", "reconciliation_invariants", "risk_threshold",
            "cash_tie_out", "fee_variance", "every_file_readable", "statement_conflict"} <= checks  # fmt: skip
    blocking = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys
                if graph.get_check_spec(c).blocking}  # fmt: skip
    assert blocking == {(k.to_user_string(), "data_quality") for k in map(asset_keys.landed, SOURCES)}


def findings(url, processor, day):
    """Open (type, processor_txn_id, ledger_id) findings of one processor's day."""
    with psycopg.connect(url.libpq) as conn:
        rows = conn.execute(
            """SELECT discrepancy_type, processor_txn_id, ledger_id FROM discrepancies
               WHERE processor_name = %s AND business_date = %s AND resolved_on IS NULL""",
            (processor, day),
        ).fetchall()
    return set(rows)


@pytest.mark.parametrize("converted", [False, True], ids=["partitioned", "converted"])
def test_a_day_reconciles_to_the_sandbox_ground_truth(resources, warehouse_url, sandbox_config, converted):
    for day in ("2026-11-19", "2026-11-21"):
        assert materialize(resources, date.fromisoformat(day), LANDING).success
    if converted:  # the neighbours held in whole tables (the schema before 0017), then moved into partitions
        assert convert_to_day_partitions(warehouse_url) and not pending_migrations(warehouse_url)
    selection = LANDING + RECONCILING
    assert materialize(resources, DAY, selection).success
    for p in PROCESSORS:
        truth = expected_findings(sandbox_config, p, DAY)
        got = {(t, txn, lid) for t, txn, lid in findings(warehouse_url, p, DAY)}
        normalised_truth = {(t, txn if t != "missing_at_processor" else None, lid) for t, txn, lid in truth}
        normalised_got = {(t, txn if t != "missing_at_processor" else None, lid) for t, txn, lid in got}
        assert normalised_got == normalised_truth, p  # precision and recall 1.0
        # every case beyond one-to-one is in the day: group sums off on either side, and a suggestion
        assert {(t, txn is None, lid is None) for t, txn, lid in truth} >= {
            ("group_amount_mismatch", True, False), ("group_amount_mismatch", False, True),
            ("suggested_match", True, False),
        }, p  # fmt: skip
    for p in DISPUTE_PROCESSORS:
        disputes = world(sandbox_config, p, DAY).disputes
        with psycopg.connect(warehouse_url.libpq) as conn:
            kinds = conn.execute(
                """SELECT processor_txn_id, kind FROM discrepancies
                   WHERE processor_name = %s AND business_date = %s AND processor_txn_id = ANY(%s)""",
                (p, DAY, list(disputes.kinds)),
            ).fetchall()
            landed = conn.execute(
                "SELECT processor_txn_id, kind FROM processor_transactions WHERE processor_txn_id = ANY(%s)",
                ([d.txn_id for d in disputes.movements],),
            ).fetchall()
        # each dispute finding names its movement's kind; what a dispute moved landed as itself, its hold never did
        assert sorted(kinds) == sorted((txn, disputes.kinds[txn]) for _, txn, _ in disputes.expected), p
        assert sorted(landed) == sorted((d.txn_id, d.kind) for d in disputes.movements if d.is_transaction), p
    with psycopg.connect(warehouse_url.libpq) as conn:
        grouped = conn.execute(
            "SELECT processor_name, count(*) FROM transaction_outcomes WHERE outcome = 'matched_group'"
            " GROUP BY processor_name"
        ).fetchall()
        # the split tender's charges (2-3) and the split booking's charge matched as groups, per processor
        assert {p for p, n in grouped if n >= 3} == set(PROCESSORS)
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


def check_results(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_check_key.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()
    }


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=80, bad_currency_records=2)])
def test_quarantined_records_are_listed_and_the_rest_of_the_day_reconciles(resources, warehouse_url, sandbox_config):
    for neighbour in (date(2026, 11, 19), date(2026, 11, 21)):  # payments booked across midnight
        assert materialize(resources, neighbour, LANDING).success
    result = materialize(resources, DAY, LANDING + RECONCILING)
    checks = check_results(result)
    assert checks[("stripe/raw_transactions", "data_quality")].passed  # the day can be read
    quarantine = checks[("stripe/raw_transactions", "quarantine")]
    assert not quarantine.passed and quarantine.severity == dg.AssetCheckSeverity.ERROR
    bad = processor_movements(sandbox_config, "stripe", DAY)[:2]
    listed = quarantine.metadata["records"].value
    assert all(m.txn_id in listed for m in bad) and "unknown ISO 4217 currency" in listed
    # every day's first two are sent with a bad currency: a neighbour's may have its booking on this day
    bad += [
        m
        for d in (date(2026, 11, 19), date(2026, 11, 21))
        for m in processor_movements(sandbox_config, "stripe", d)[:2]
    ]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "stripe/discrepancies" in materialized
    # every planted finding is found; the only others are the quarantined records' own bookings
    got = findings(warehouse_url, "stripe", DAY)
    truth = expected_findings(sandbox_config, "stripe", DAY)
    assert {(t, lid) for t, _, lid in truth} <= {(t, lid) for t, _, lid in got}
    extra = {txn for t, txn, lid in got if (t, lid) not in {(t2, l2) for t2, _, l2 in truth}}
    assert extra <= {m.txn_id for m in bad}


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=40, bad_currency_records=40)])
def test_a_day_mostly_unreadable_is_not_reconciled(resources):
    result = materialize(resources, DAY, LANDING + RECONCILING, raise_on_error=False)
    checks = check_results(result)
    assert not checks[("stripe/raw_transactions", "data_quality")].passed  # blocking: most of the feed quarantined
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "stripe/discrepancies" not in materialized


def test_a_day_whose_sources_never_landed_is_not_reconciled_and_says_which(resources, warehouse_url, tmp_path):
    """A day reconciled before its sources landed (an automation tick, a day run on its own) judges nothing: no
    finding or run summary from what was never fetched; its checks fail at ERROR naming what is missing, its
    JSON says not_reconciled and why, the daily summary says NOT RECONCILED; once landed, it is reconciled."""
    judging = [asset_keys.discrepancies("stripe"), asset_keys.reconciliation_summary("stripe"),
               asset_keys.reconciliation_report("stripe"), asset_keys.DAILY_SUMMARY]  # fmt: skip
    result = materialize(resources, DAY, judging)
    reason = (
        f"stripe {DAY} is not reconciled: stripe {DAY}, ledger {DAY} not landed yet (materialise its landing first)"
    )
    assert sorted(
        (e.asset_key.to_user_string(), e.check_name, e.passed, e.severity.value, e.description)
        for e in result.get_asset_check_evaluations()
    ) == [("stripe/discrepancies", "reconciliation_invariants", False, "ERROR", reason),
          ("stripe/reconciliation_summary", "risk_threshold", False, "ERROR", reason)]  # fmt: skip
    with psycopg.connect(warehouse_url.libpq) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                  for table in ("discrepancies", "reconciliation_runs", "transaction_outcomes")]  # fmt: skip
    assert counts == [0, 0, 0]
    folder = tmp_path / "reports" / "reports" / "2026" / "11" / "20"
    assert json.loads((folder / "stripe" / "summary.json").read_text())["financial_impact"] == {
        "risk_level": None, "compliance_status": "not_reconciled", "reason": reason,
    }  # fmt: skip
    assert not (folder / "stripe" / "discrepancies.csv").exists()  # nothing was judged
    summary = (folder / "daily_summary.md").read_text()
    assert "⬜ **NOT RECONCILED** · " in summary and "| Stripe | ⬜ **NOT RECONCILED** | – |" in summary
    assert "LOW" not in summary
    assert materialize(resources, DAY, [asset_keys.LEDGER_TRANSACTIONS, asset_keys.raw_transactions("stripe"),
                                        asset_keys.discrepancies("stripe")]).success  # landed: reconciled  # fmt: skip
    with psycopg.connect(warehouse_url.libpq) as conn:
        assert conn.execute("SELECT count(*) FROM transaction_outcomes").fetchone()[0] > 0


LARGE = SandboxConfig(daily_volume=40, extra_payments=(("JPY", 1_500_000), ("USD", 200_000_000)))


@pytest.mark.parametrize("sandbox_config", [LARGE])
def test_large_payments_are_reconciled_and_the_largest_flagged(resources, warehouse_url, sandbox_config):
    """A ¥1,500,000 payment (about $10,000) is an ordinary payment; $2,000,000 is over the $1,000,000 bound:
    both are reconciled, and only the second is listed by the (non-blocking) large_amounts check."""
    stripe_day = [asset_keys.LEDGER_TRANSACTIONS, *(key("stripe") for key in
                  (asset_keys.raw_transactions, asset_keys.discrepancies))]  # fmt: skip
    result = materialize(resources, DAY, stripe_day)
    checks = check_results(result)
    assert checks[("stripe/raw_transactions", "data_quality")].passed
    large = checks[("stripe/raw_transactions", "large_amounts")]
    assert not large.passed and large.severity == dg.AssetCheckSeverity.WARN
    assert large.metadata["over_bound"].value == 1 and "200000000" in large.metadata["largest"].value
    with psycopg.connect(warehouse_url.libpq) as conn:
        outcomes = dict(conn.execute(
            """SELECT t.currency || ' ' || t.amount_minor, o.outcome FROM processor_transactions t
               JOIN transaction_outcomes o USING (processor_name, processor_txn_id)
               WHERE t.processor_name = 'stripe' AND t.amount_minor IN (1500000, 200000000)"""
        ).fetchall())  # fmt: skip
    assert outcomes == {"JPY 1500000": "matched", "USD 200000000": "matched"}


def stripe_rows(url, day):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(
            """SELECT count(*), coalesce(sum(amount_minor), 0) FROM processor_transactions
               WHERE processor_name = 'stripe' AND business_date = %s""",
            (day,),
        ).fetchone()


def test_failure_mid_fetch_leaves_the_partition_as_it_was(resources, sandbox, warehouse_url):
    resources = {**resources, "stripe_api": SourceApiResource(source="stripe", base_url=sandbox.url, max_attempts=2,
                                                              fetch_windows=4)}  # fmt: skip
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
    target = dg.AssetSelection.assets(dg.AssetKey(["stripe", "discrepancies"]))
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


def test_real_apis_are_paced_to_their_documented_limits_and_the_sandbox_is_not():
    for spec in SOURCES.values():
        real = SourceApiResource(
            source=spec.name, live=True, key="a-real-key", secret="a-secret", base_url="https://api.test"
        )
        assert real.client().http.pacer_rate == spec.requests_per_second
        assert SourceApiResource(source=spec.name).client().http.pacer_rate is None
    assert SOURCES["stripe"].requests_per_second == 25  # Stripe's documented per-endpoint limit
    narrowed = SourceApiResource(
        source="square", live=True, key="a-real-key", base_url="https://api.test", max_requests_per_second=4
    )
    assert narrowed.client().http.pacer_rate == 4
    unlimited = SourceApiResource(
        source="square", live=True, key="a-real-key", base_url="https://api.test", max_requests_per_second=0
    )
    assert unlimited.client().http.pacer_rate is None


def test_matching_rules_are_typed_config_read_from_the_environment(monkeypatch):
    from recon_assets.defs.reconciliation.resources import ReconciliationSettings, matching_rules_from_environment

    monkeypatch.setenv("RECON_MATCHING_RULES_JSON", '{"stripe": {"split_tender": {"percent": {"USD": "0.5"}}}}')
    settings = ReconciliationSettings(
        tolerance_minor_json='{"USD": 2}', matching_rules=matching_rules_from_environment()
    )
    stripe = settings.rules("stripe")
    assert (stripe.split_tender.percent, stripe.split_tender.absolute_minor) == ({"USD": Decimal("0.5")}, {"USD": 2})
    assert settings.rules("paypal").split_tender.percent == {}
    monkeypatch.setenv("RECON_MATCHING_RULES_JSON", '{"stripe": {"exact_reference": {"date_drift_days": 3}}}')
    with pytest.raises(dg.Failure, match=r"RECON_MATCHING_RULES_JSON: stripe\.exact_reference: date_drift_days"):
        matching_rules_from_environment()

"""A bad feed landed through Dagster: contradictions are quarantined in every version and surfaced by the
quarantine check, the rest of the day reconciles to the truth, and a collapsed day is flagged."""

import copy
from datetime import date, timedelta

import dagster as dg
import psycopg
import pytest

from recon_assets import asset_keys
from recon_assets.defs.ingestion.landing import preview_markdown
from recon_assets.defs.ingestion.resources import SourceApiResource
from recon_assets.domain.money import format_major
from recon_assets.processors.base import CONFLICT_REASON
from recon_assets.sandbox.server import SandboxServer
from recon_assets.sandbox.world import SandboxConfig, expected_findings
from recon_assets.warehouse import landing
from recon_assets.warehouse.landing import PROCESSOR_TRANSACTIONS
from recon_assets_tests.defs.graph import materialize, source_resources
from recon_assets_tests.misbehaving import MisbehavingProxy

DAY = date(2026, 11, 20)
STRIPE_DAY = [asset_keys.LEDGER_TRANSACTIONS, asset_keys.raw_transactions("stripe"), asset_keys.discrepancies("stripe")]


def rows(url, query, *params):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(query, params).fetchall()


def assert_landing_metadata_is_the_warehouse_s(result, url, source: str, day: date) -> None:
    """The landing's row count, totals and preview are what the partition holds once it committed."""
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == asset_keys.landed(source)]
    metadata = event.materialization.metadata
    with psycopg.connect(url.libpq) as conn:
        totals = landing.landed_totals(conn, PROCESSOR_TRANSACTIONS, source, day)
        preview = landing.landed_preview(conn, PROCESSOR_TRANSACTIONS, source, day, 10)
    assert metadata["row_count"].value == sum(count for count, _ in totals.values()) > 10
    assert metadata["totals_by_currency"].value == {c: format_major(t, c) for c, (_, t) in sorted(totals.items())}
    assert metadata["preview"].value == preview_markdown(preview)


def test_every_version_of_a_contradicted_id_is_quarantined_and_the_rest_reconciles(
    resources, sandbox, sandbox_config, warehouse_url
):
    kept = {}

    def contradict(exchange, n):
        data = exchange.body["data"]
        if n == 1:
            kept["first"] = copy.deepcopy(data[0])
            data.insert(1, "not a charge")
        elif n == 2:  # the same id again, 800 -> 99900: which one is true cannot be told
            data.append({**kept["first"], "amount": kept["first"]["amount"] + 99100})

    for neighbour in (DAY - timedelta(days=1), DAY + timedelta(days=1)):  # payments booked across midnight
        assert materialize(resources, neighbour, [asset_keys.LEDGER_TRANSACTIONS,
                                                  asset_keys.raw_transactions("stripe")]).success  # fmt: skip
    with MisbehavingProxy(sandbox.url, {"/v1/charges": contradict}) as proxy:
        stripe = SourceApiResource(source="stripe", base_url=proxy.url, fetch_windows=1, fetch_workers=1)
        result = materialize({**resources, "stripe_api": stripe}, DAY, STRIPE_DAY)
    conflicted = kept["first"]["id"]
    quarantined = rows(warehouse_url, """SELECT record_id, reason, (raw->>'amount')::bigint FROM quarantined_records
                       WHERE source = 'stripe' ORDER BY 3""")  # fmt: skip
    first_amount = kept["first"]["amount"]
    assert quarantined == [  # ordered by amount, nulls last
        (conflicted, CONFLICT_REASON, first_amount),
        (conflicted, CONFLICT_REASON, first_amount + 99100),
        (None, "not a JSON object but a JSON str", None),
    ]
    assert rows(warehouse_url, "SELECT count(*) FROM processor_transactions WHERE processor_txn_id = %s",
                conflicted) == [(0,)]  # fmt: skip
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()
              if e.asset_key == asset_keys.raw_transactions("stripe")}  # fmt: skip
    assert checks["data_quality"].passed and not checks["quarantine"].passed
    assert conflicted in checks["quarantine"].metadata["records"].value
    assert_landing_metadata_is_the_warehouse_s(result, warehouse_url, "stripe", DAY)  # a withdrawn id: asked again
    # the rest of the day: the truth, plus the quarantined charge's booking the ledger holds
    found = set(rows(warehouse_url, """SELECT discrepancy_type, coalesce(processor_txn_id, ''), ledger_id
                     FROM discrepancies WHERE processor_name = 'stripe' AND business_date = %s""", DAY))  # fmt: skip
    truth = {(t, txn or "", lid) for t, txn, lid in expected_findings(sandbox_config, "stripe", DAY)}
    unexplained = {f for f in found - truth if f[1] != conflicted}
    assert truth <= found and not unexplained


COLLAPSE_WEEK = [DAY - timedelta(days=d) for d in range(7, 0, -1)]


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=40)])
def test_a_day_that_collapsed_against_its_week_is_flagged(resources, warehouse_url):
    landing = [asset_keys.raw_transactions("stripe")]
    for day in COLLAPSE_WEEK:
        week_day = materialize(resources, day, landing)
        assert week_day.success
        assert_landing_metadata_is_the_warehouse_s(week_day, warehouse_url, "stripe", day)  # gathered in flight
    with SandboxServer(SandboxConfig(daily_volume=2, refund_rate=0.0, cases_per_kind=0, disputes=False)) as thin:
        result = materialize({**resources, **source_resources(thin.url)}, DAY, landing)
    (volume,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "volume"]
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.WARN
    assert volume.metadata["rows"].value <= 3 and volume.metadata["previous_7_day_average"].value > 30
    assert "possible outage or lost feed" in volume.description

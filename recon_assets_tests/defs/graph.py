"""Materialising the real asset graph in process: selections and the source resources."""

from datetime import date

import dagster as dg

from recon_assets.definitions import build_definitions
from recon_assets.defs.ingestion.resources import (
    LedgerApiResource,
    PayPalApiResource,
    SquareApiResource,
    StripeApiResource,
)
from recon_assets.processors.registry import PROCESSORS

LANDING = [dg.AssetKey(["ledger", "transactions"])] + [dg.AssetKey([p, "raw_transactions"]) for p in PROCESSORS]
RECONCILING = [dg.AssetKey([p, n]) for p in PROCESSORS for n in ("discrepancies", "reconciliation_summary")]
REPORTING = [dg.AssetKey([p, "reconciliation_report"]) for p in PROCESSORS] + [
    dg.AssetKey(["reporting", "daily_summary"])
]


def source_resources(base_url: str) -> dict:
    common = {"base_url": base_url, "fetch_windows": 4, "fetch_workers": 2}
    return {
        "stripe_api": StripeApiResource(**common),
        "paypal_api": PayPalApiResource(**common),
        "square_api": SquareApiResource(**common),
        "ledger_api": LedgerApiResource(**common),
    }


def materialize(resources, day: date, selection, raise_on_error=True, instance=None) -> dg.ExecuteInProcessResult:
    defs = build_definitions()
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(
        assets,
        partition_key=day.isoformat(),
        resources=resources,
        selection=selection,
        raise_on_error=raise_on_error,
        instance=instance,
    )

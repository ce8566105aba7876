"""Materialising the real asset graph in process: selections and the source resources."""

from datetime import date

import dagster as dg

from recon_assets import asset_keys
from recon_assets.definitions import build_definitions
from recon_assets.defs.ingestion.resources import SourceApiResource
from recon_assets.processors.registry import PROCESSORS, SOURCES

LANDING = [asset_keys.landed(source) for source in SOURCES]
RECONCILING = [key(p) for p in PROCESSORS for key in (asset_keys.discrepancies, asset_keys.reconciliation_summary)]
REPORTING = [asset_keys.reconciliation_report(p) for p in PROCESSORS] + [asset_keys.DAILY_SUMMARY]


def source_resources(base_url: str, **settings) -> dict:
    """Every source's resource reading the sandbox at ``base_url``."""
    common = {"base_url": base_url, "fetch_windows": 4, "fetch_workers": 2, **settings}
    return {spec.resource_key: SourceApiResource(source=spec.name, **common) for spec in SOURCES.values()}


def materialize(
    resources, day: date | None, selection, raise_on_error=True, instance=None
) -> dg.ExecuteInProcessResult:
    """The selection's assets for ``day`` (None: unpartitioned ones)."""
    defs = build_definitions()
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(
        assets,
        partition_key=day.isoformat() if day else None,
        resources=resources,
        selection=selection,
        raise_on_error=raise_on_error,
        instance=instance,
    )

"""Each processor's raw transactions and the internal ledger, landed one business day at a time."""

import dagster as dg

from recon_assets import asset_keys
from recon_assets.defs.ingestion.checks import evaluate_quality, quality_check_specs
from recon_assets.defs.ingestion.landing import land_day
from recon_assets.defs.ingestion.resources import DataQualitySettings, SourceApiResource
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.partitions import (
    daily_partitions,
    neighbour_landed,
    neighbours_to_land,
    partition_day,
    settlement_window,
)
from recon_assets.processors.registry import LEDGER, SOURCES, SourceSpec
from recon_assets.stopwatch import Stopwatch
from recon_assets.warehouse.landing import LEDGER_TRANSACTIONS, PROCESSOR_TRANSACTIONS
from recon_assets.warehouse.resource import WarehouseResource

TRANSACTION_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("business_date", "date", description="UTC day of the processor's creation time"),
        dg.TableColumn("processor_name", "text"),
        dg.TableColumn("processor_txn_id", "text", description="The processor's own id"),
        dg.TableColumn("kind", "text", description="charge or refund"),
        dg.TableColumn("amount_minor", "bigint", description="Signed amount in ISO 4217 minor units"),
        dg.TableColumn("currency", "char(3)"),
        dg.TableColumn("fee_minor", "bigint"),
        dg.TableColumn("status", "text", description="succeeded, pending, failed or refunded"),
        dg.TableColumn("occurred_at", "timestamptz"),
        dg.TableColumn("raw", "jsonb", description="The processor's record as received"),
    ]
)
LEDGER_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("ledger_id", "text"),
        dg.TableColumn("business_date", "date", description="UTC day the ledger booked the entry"),
        dg.TableColumn("processor_name", "text"),
        dg.TableColumn("processor_reference", "text", description="The processor's id of the same movement"),
        dg.TableColumn("kind", "text"),
        dg.TableColumn("amount_minor", "bigint"),
        dg.TableColumn("currency", "char(3)"),
        dg.TableColumn("status", "text"),
        dg.TableColumn("booked_at", "timestamptz"),
    ]
)


def _description(spec: SourceSpec) -> str:
    if spec is LEDGER:
        return "Every entry the business booked in its own ledger on the day (UTC), for all processors."
    return (
        f"Every charge and refund {spec.display_name} reports for the business day (UTC), normalised to exact "
        "minor units. Records that fail validation are quarantined with their reason, never dropped silently."
    )


def build_landing_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: one daily asset of what a source reports, landed in the warehouse."""
    key = asset_keys.landed(spec.name)
    table = LEDGER_TRANSACTIONS if spec is LEDGER else PROCESSOR_TRANSACTIONS
    schema = LEDGER_SCHEMA if spec is LEDGER else TRANSACTION_SCHEMA

    @dg.asset(
        key=key,
        partitions_def=daily_partitions,
        group_name=spec.name,  # each source's assets in one box of the graph, titled with its name
        kinds={spec.name, "python", "postgres"},
        tags={"processor": spec.name} if spec is not LEDGER else {},
        pool=spec.pool,
        required_resource_keys={spec.resource_key, "warehouse", "data_quality_settings", "reconciliation_settings"},
        check_specs=quality_check_specs(key),
        metadata={"dagster/column_schema": schema, "dagster/table_name": table.name},
        description=_description(spec),
    )
    def landed(context: dg.AssetExecutionContext):
        day = partition_day(context)
        warehouse: WarehouseResource = context.resources.warehouse
        api: SourceApiResource = getattr(context.resources, spec.resource_key)
        settings: ReconciliationSettings = context.resources.reconciliation_settings
        quality: DataQualitySettings = context.resources.data_quality_settings
        rates = settings.rates()
        client = api.client()
        metadata = land_day(context, warehouse, client, table, day, spec.finality_lag)
        for neighbour in neighbours_to_land(context, key, settlement_window):  # in a backfill: its windows' edges
            landed_metadata = land_day(context, warehouse, client, table, neighbour, spec.finality_lag)
            context.log_event(neighbour_landed(key, neighbour, [day], landed_metadata))
        stopwatch = Stopwatch()
        with stopwatch.part("checks"):
            checks = evaluate_quality(warehouse, key, table, spec.name, day, quality, rates)
        metadata |= stopwatch.as_metadata()
        return dg.MaterializeResult(metadata={**metadata, "sandbox": api.is_sandbox}, check_results=checks)

    return landed


landing_assets = [build_landing_asset(spec) for spec in SOURCES.values()]

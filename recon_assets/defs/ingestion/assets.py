"""Each processor's raw transactions and the internal ledger, landed one business day at a time."""

import dagster as dg

from recon_assets.defs.ingestion.checks import evaluate_quality, quality_check_specs
from recon_assets.defs.ingestion.landing import land_day, ledger_row, processor_row
from recon_assets.defs.ingestion.resources import DataQualitySettings, LedgerApiResource
from recon_assets.partitions import OWNERS, daily_partitions, partition_day
from recon_assets.processors.registry import PROCESSORS, ProcessorSpec
from recon_assets.warehouse import store
from recon_assets.warehouse.resource import WarehouseResource

LEDGER_KEY = dg.AssetKey(["ledger", "transactions"])
LEDGER_FINALITY_LAG = PROCESSORS["paypal"].finality_lag

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


def _preview(record) -> dict:
    return record.model_dump(exclude={"raw", "processor"})


def raw_transactions_key(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "raw_transactions"])


def build_raw_transactions_asset(spec: ProcessorSpec) -> dg.AssetsDefinition:
    """The factory: one daily asset of a processor's charges and refunds."""
    key = raw_transactions_key(spec.name)

    @dg.asset(
        key=key,
        partitions_def=daily_partitions,
        group_name="ingestion",
        kinds={"python", "postgres"},
        owners=OWNERS,
        tags={"processor": spec.name},
        pool=spec.resource_key,
        required_resource_keys={spec.resource_key, "warehouse", "data_quality_settings"},
        check_specs=quality_check_specs(key),
        metadata={"dagster/column_schema": TRANSACTION_SCHEMA, "dagster/table_name": "processor_transactions"},
        description=(
            f"Every charge and refund {spec.display_name} reports for the business day (UTC), normalised "
            "to exact minor units. Records that fail validation are quarantined, never dropped silently."
        ),
    )
    def raw_transactions(context: dg.AssetExecutionContext):
        day = partition_day(context)
        warehouse: WarehouseResource = context.resources.warehouse
        api = getattr(context.resources, spec.resource_key)
        metadata = land_day(
            context, warehouse, api.client(),
            day=day, table="processor_transactions",
            partition={"processor_name": spec.name, "business_date": day},
            columns=store.PROCESSOR_TRANSACTION_COLUMNS, to_row=processor_row, preview=_preview,
            finality_lag=spec.finality_lag,
        )  # fmt: skip
        with warehouse.connection() as conn:
            checks = evaluate_quality(
                conn, key, table="processor_transactions", id_column="processor_txn_id", source=spec.name,
                processor=spec.name, day=day, bounds=context.resources.data_quality_settings,
            )  # fmt: skip
        return dg.MaterializeResult(metadata={**metadata, "sandbox": api.is_sandbox}, check_results=checks)

    return raw_transactions


raw_transactions_assets = [build_raw_transactions_asset(spec) for spec in PROCESSORS.values()]


@dg.asset(
    key=LEDGER_KEY,
    partitions_def=daily_partitions,
    group_name="ingestion",
    kinds={"python", "postgres"},
    owners=OWNERS,
    pool="ledger_api",
    check_specs=quality_check_specs(LEDGER_KEY),
    metadata={"dagster/column_schema": LEDGER_SCHEMA, "dagster/table_name": "ledger_transactions"},
    description="Every entry the business booked in its own ledger on the day (UTC), for all processors.",
)
def ledger_transactions(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    ledger_api: LedgerApiResource,
    data_quality_settings: DataQualitySettings,
):
    day = partition_day(context)
    metadata = land_day(
        context, warehouse, ledger_api.client(),
        day=day, table="ledger_transactions", partition={"business_date": day},
        columns=store.LEDGER_TRANSACTION_COLUMNS, to_row=ledger_row, preview=_preview,
        finality_lag=LEDGER_FINALITY_LAG,
    )  # fmt: skip
    with warehouse.connection() as conn:
        checks = evaluate_quality(
            conn, LEDGER_KEY, table="ledger_transactions", id_column="ledger_id", source="ledger",
            processor=None, day=day, bounds=data_quality_settings,
        )  # fmt: skip
    return dg.MaterializeResult(metadata={**metadata, "sandbox": ledger_api.is_sandbox}, check_results=checks)

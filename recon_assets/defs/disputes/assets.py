"""Disputes as a working list, per processor that lists them: each day the disputes updated on it are kept as
their processor last described them, and the ``dispute_response_due`` check lists those whose response is due."""

import dagster as dg
import pandas as pd

from recon_assets import asset_keys
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.domain.disputes import Dispute, due_soon
from recon_assets.domain.money import format_major
from recon_assets.partitions import daily_partitions, partition_day
from recon_assets.processors.http import ApiError
from recon_assets.processors.registry import PROCESSORS, SourceSpec
from recon_assets.services.alerts import ITEMS
from recon_assets.warehouse.disputes import disputes_open_on, keep_disputes
from recon_assets.warehouse.resource import WarehouseResource

RESPONSE_DUE = "dispute_response_due"


def due_table(disputes: list[Dispute]) -> str:
    """The disputes due, as a Markdown table a person can act on."""
    frame = pd.DataFrame(
        [(d.reference, d.payment, format_major(d.amount_minor, d.currency), d.currency, d.reason, d.status,
          d.due_by.strftime("%Y-%m-%d %H:%M UTC")) for d in disputes],
        columns=["dispute", "payment", "amount", "currency", "reason", "status", "due by"],
    )  # fmt: skip
    return frame.to_markdown(index=False) if len(frame) else "_none_"


def build_dispute_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: a processor's disputes, kept current day by day, with the check on what is due."""
    key = asset_keys.disputes(spec.name)

    @dg.asset(
        key=key,
        group_name=spec.name,
        kinds={spec.name, "python", "postgres"},
        tags={"processor": spec.name},
        metadata={"dagster/table_name": "disputes"},
        description=(
            f"Every {spec.display_name} dispute updated on the day, kept as {spec.display_name} last described it: "
            "the disputed payment, amount, reason, status, due date, outcome, opened and closed dates."
        ),
        partitions_def=daily_partitions,
        pool=spec.pool,
        required_resource_keys={spec.resource_key, "warehouse", "reconciliation_settings"},
        check_specs=[
            dg.AssetCheckSpec(
                RESPONSE_DUE,
                asset=key,
                partitions_def=daily_partitions,
                description="Disputes waiting on the merchant's response and due within dispute_due_days of the "
                "day (overdue ones too), each listed: a dispute not answered in time is lost by default.",
            )
        ],
    )
    def dispute_asset(context: dg.AssetExecutionContext):
        day = partition_day(context)
        warehouse: WarehouseResource = context.resources.warehouse
        settings: ReconciliationSettings = context.resources.reconciliation_settings
        try:
            updated = getattr(context.resources, spec.resource_key).client().disputes(day)
        except ApiError as exc:  # one line: the source, the endpoint, why
            raise dg.Failure(description=str(exc)) from None
        with warehouse.connection() as conn:
            changed = keep_disputes(conn, updated, day, context.run.run_id)
            open_on_day = disputes_open_on(conn, day, spec.name)
        due = due_soon(open_on_day, day, settings.dispute_due_days)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "updated_on_day": dg.MetadataValue.int(len(updated)),
                "rows_changed": dg.MetadataValue.int(changed),
                "open": dg.MetadataValue.int(len(open_on_day)),
                "waiting_on_us": dg.MetadataValue.int(sum(d.needs_response for d in open_on_day)),
            },
        )
        yield dg.AssetCheckResult(
            check_name=RESPONSE_DUE,
            asset_key=key,
            passed=not due,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(due)} dispute(s) due by {day.isoformat()} + {settings.dispute_due_days} days"
            if due
            else "no dispute response due",
            # the disputes due, item by item: the alert pass announces each dispute once, the day it first is due
            metadata={"due": dg.MetadataValue.md(due_table(due)), ITEMS: [d.reference for d in due]},
        )

    return dispute_asset


dispute_assets = [build_dispute_asset(spec) for spec in PROCESSORS.values() if spec.lists_disputes]

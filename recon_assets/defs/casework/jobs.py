"""Working exceptions from the Dagster UI: launch ``resolve_discrepancies``, ``assign_discrepancies`` or
``manual_match`` with typed run config (ids or a filter, the reason, a note, who) in the launchpad; ``dry_run`` shows
what would change without changing it."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import dagster as dg

from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.domain.casework import Resolution
from recon_assets.domain.findings import finding_type
from recon_assets.warehouse import casework, matches
from recon_assets.warehouse.resource import WarehouseResource


class ExceptionSelection(dg.Config):
    """Which exceptions: ids, or a filter (at least one of them). Only unresolved ones are changed."""

    ids: list[int] = []
    processor: str | None = None
    discrepancy_type: str | None = None
    severity: str | None = None
    min_age_days: int | None = None
    min_amount: str | None = None  # in the reporting currency, e.g. "1000.00"
    note: str
    actor: str
    dry_run: bool = False

    def to_filter(self) -> casework.ExceptionFilter:
        if self.discrepancy_type is not None:
            try:
                finding_type(self.discrepancy_type)
            except ValueError as exc:
                raise dg.Failure(f"discrepancy_type: {exc}", allow_retries=False) from None
        selection = casework.ExceptionFilter(
            ids=tuple(self.ids),
            processor=self.processor,
            discrepancy_type=self.discrepancy_type,
            severity=self.severity,
            min_age_days=self.min_age_days,
            min_amount=Decimal(self.min_amount) if self.min_amount else None,
        )
        if not selection.narrows:
            raise dg.Failure("give ids or a filter: a bulk change of every open exception is refused")
        return selection


class ResolveConfig(ExceptionSelection):
    resolution: Resolution


class AssignConfig(ExceptionSelection):
    assignee: str


def _change(context, config: ExceptionSelection, warehouse, exception_policy, change: Callable) -> int:
    """Find the selected unresolved exceptions, show them, and unless a dry run apply ``change(conn, ids)``."""
    today = datetime.now(UTC).date()
    with warehouse.connection() as conn:
        frame = casework.list_exceptions(conn, config.to_filter(), exception_policy.policy(), today)
        preview = frame[["id", "processor_name", "business_date", "discrepancy_type", "amount_at_risk", "severity",
                         "state"]]  # fmt: skip
        context.add_output_metadata(
            {"matched": len(frame), "dry_run": config.dry_run, "preview": dg.MetadataValue.md(
                preview.head(50).to_markdown(index=False) if len(frame) else "_nothing matches_")}
        )  # fmt: skip
        context.log.info(f"{len(frame)} exceptions match{' (dry run: nothing changed)' if config.dry_run else ''}")
        if config.dry_run or frame.empty:
            return 0
        return change(conn, [int(i) for i in frame["id"]])


@dg.op(description="Resolve the selected exceptions with a reason and a note.")
def resolve_selected(
    context: dg.OpExecutionContext,
    config: ResolveConfig,
    warehouse: WarehouseResource,
    exception_policy: ExceptionPolicySettings,
) -> int:
    def apply(conn, ids: list[int]) -> int:
        return casework.resolve(conn, ids, config.resolution, config.note, config.actor)

    return _change(context, config, warehouse, exception_policy, apply)


@dg.op(description="Assign the selected exceptions to a person or team.")
def assign_selected(
    context: dg.OpExecutionContext,
    config: AssignConfig,
    warehouse: WarehouseResource,
    exception_policy: ExceptionPolicySettings,
) -> int:
    def apply(conn, ids: list[int]) -> int:
        return casework.assign(conn, ids, config.assignee, config.actor, config.note)

    return _change(context, config, warehouse, exception_policy, apply)


@dg.job(description="Resolve exceptions by id or filter, with a reason; every change is audited.")
def resolve_discrepancies():
    resolve_selected()


@dg.job(description="Assign exceptions by id or filter to a person or team; every change is audited.")
def assign_discrepancies():
    assign_selected()


class ManualMatchConfig(dg.Config):
    """Link processor records and ledger entries of one processor that no rule could match (``unlink`` unset),
    or break the manual match ``unlink``. Either way a note says why."""

    processor: str = ""
    transactions: list[str] = []
    ledger: list[str] = []
    unlink: int | None = None
    note: str
    actor: str


@dg.op(description="Make (or break) a manual match; the findings it explains are resolved (or reopened).")
def apply_manual_match(context: dg.OpExecutionContext, config: ManualMatchConfig, warehouse: WarehouseResource) -> int:
    with warehouse.connection() as conn:
        try:
            if config.unlink is not None:
                changed = matches.unmatch(conn, config.unlink, config.note, config.actor)
                context.log.info(f"manual match {config.unlink} broken; {changed} finding(s) reopened")
            else:
                link_id, changed = matches.match(
                    conn, config.processor, config.transactions, config.ledger, config.note, config.actor
                )
                context.log.info(f"manual match {link_id} made; {changed} finding(s) resolved")
        except matches.LinkRefused as exc:
            raise dg.Failure(str(exc)) from None
    return changed


@dg.job(description="Link records no rule could match, or break such a link, with a note; audited, kept across "
        "re-runs (the same as recon match).")  # fmt: skip
def manual_match():
    apply_manual_match()

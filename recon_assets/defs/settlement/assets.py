"""The cash side, day by day: each processor's payouts and what they settled, the bank's statement lines,
how each payout met the bank (with the settlement findings and their checks), and the cash position."""

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd

from recon_assets import asset_keys
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.defs.settlement.checks import (
    evaluate_settlement,
    evaluate_statement_files,
    settlement_check_specs,
    statement_file_check_specs,
)
from recon_assets.defs.settlement.resources import BankStatementFiles, SettlementSettings
from recon_assets.domain.findings import Side, counts_of, names
from recon_assets.domain.settlement import OTHER, cash_positions
from recon_assets.partitions import (
    daily_partitions,
    days_around,
    neighbour_landed,
    neighbours_to_land,
    partition_day,
    partition_days,
    refresh_when_inputs_change,
)
from recon_assets.processors.http import ApiError
from recon_assets.processors.registry import PROCESSORS, SourceSpec
from recon_assets.services.settlement import settle, windows
from recon_assets.services.statements import QUARANTINED, TakenIn, take_in_new
from recon_assets.warehouse import archive, bank, settlement
from recon_assets.warehouse.resource import WarehouseResource

WINDOWS = windows()  # the configured grace's: what a day's settlement reads
PAYOUTS_WINDOW = days_around(-WINDOWS.lookback, 0)  # the payouts (and items) a day's match reads
LINES_WINDOW = days_around(-WINDOWS.lookback, WINDOWS.span)  # the bank lines it reads
PARTITIONS_PER_RUN = 31  # a backfill fetches a month of payouts or statements per run
DAYS_CHANGED = "other_days_changed"  # booking days whose lines a run replaced, beyond its own partitions


@contextlib.contextmanager
def day_archived_fails_in_one_line() -> Iterator[None]:
    """A day that has left the warehouse fails its run with the one line saying so (no retry brings it back)."""
    try:
        yield
    except archive.DayArchived as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def take_in_delivered(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      files: BankStatementFiles) -> list[TakenIn]:  # fmt: skip
    """Every statement file delivered and not taken in before, each on its own (see services.statements); a
    quarantined one is logged with its reason."""
    with warehouse.connection() as conn:
        taken = take_in_new(conn, files.files(), files.get, context.run.run_id)
    for t in taken:
        if t.reason:
            context.log.warning(f"bank statement {t.name} quarantined: {t.reason}")
    return taken


def taken_in_metadata(taken: list[TakenIn], own_days: Iterable[date] = ()) -> dict[str, dg.MetadataValue]:
    """What a run took in, for a person: counts, the files with their outcome, and the booking days whose lines
    changed outside the run's own (the sensor ``statement_days_changed`` runs those)."""
    table = pd.DataFrame([(t.name, t.status, t.lines, t.conflicts, t.reason or "") for t in taken],
                         columns=["file", "status", "lines", "conflicts", "reason"])  # fmt: skip
    changed = sorted({d.isoformat() for t in taken for d in t.days_changed} - {d.isoformat() for d in own_days})
    return {
        "files_taken_in": dg.MetadataValue.int(len(taken)),
        "files_quarantined": dg.MetadataValue.int(sum(t.status == QUARANTINED for t in taken)),
        "files": dg.MetadataValue.md(table.to_markdown(index=False) if len(table) else "_no new files_"),
        DAYS_CHANGED: dg.MetadataValue.json(changed),
    }


@dg.asset(
    key=asset_keys.BANK_STATEMENT_FILES,
    group_name="settlement",
    kinds={"python", "postgres"},
    check_specs=statement_file_check_specs(asset_keys.BANK_STATEMENT_FILES),
    metadata={"dagster/table_name": "statement_files"},
    description=(
        "Every bank statement file delivered (BAI2, camt.053, MT940), taken in once per version and on its own: "
        "checked whole, then landed into the account-days it states, or quarantined with its reason. "
        "Run by the sensor bank_statement_files when a file arrives."
    ),
)
def statement_files(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, bank_statements: BankStatementFiles
):
    taken = take_in_delivered(context, warehouse, bank_statements)
    with warehouse.connection() as conn:
        conflicts = bank.conflicts(conn, context.run.run_id)
    return dg.MaterializeResult(
        metadata=taken_in_metadata(taken),
        check_results=evaluate_statement_files(asset_keys.BANK_STATEMENT_FILES, taken, conflicts),
    )


@dg.asset(
    key=asset_keys.BANK_STATEMENT_LINES,
    partitions_def=daily_partitions,
    group_name="settlement",
    kinds={"python", "postgres"},
    metadata={"dagster/table_name": "bank_statement_lines"},
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=PARTITIONS_PER_RUN),
    description=(
        "Every line the bank booked on the day, credits positive: what actually arrived, from the statement "
        "files taken in (any not yet taken in are taken in first). A corrected statement of an account's day "
        "replaces it, audited; a file that cannot be read is quarantined and lands nothing."
    ),
)
def statement_lines(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, bank_statements: BankStatementFiles
):
    days = partition_days(context)
    neighbours = neighbours_to_land(context, asset_keys.BANK_STATEMENT_LINES, LINES_WINDOW)  # in a backfill
    bank_statements.deliver_sandbox_statements(days + neighbours)
    taken = take_in_delivered(context, warehouse, bank_statements)
    with warehouse.connection() as conn:
        by_day = {day.isoformat(): bank.lines_of_day(conn, day) for day in days}
        # a neighbour's lines came in with the files taken in above, if the bank has stated its day
        neighbours = [d for d in neighbours if bank.lines_of_day(conn, d)]
    for neighbour in neighbours:
        context.log_event(neighbour_landed(asset_keys.BANK_STATEMENT_LINES, neighbour, days))
    lines = [x for day_lines in by_day.values() for x in day_lines]
    per_day = {day: len(day_lines) for day, day_lines in by_day.items()}
    credits = pd.DataFrame([(x.currency, x.amount_minor) for x, _ in lines if x.amount_minor > 0],
                           columns=["currency", "amount_minor"])  # fmt: skip
    preview = pd.DataFrame(
        [(x.line_id, x.bank_reference, x.amount_minor, x.currency, x.text, source) for x, source in lines[:20]],
        columns=["line_id", "bank_reference", "amount_minor", "currency", "text", "file"],
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(lines)),
            **({"lines_by_day": dg.MetadataValue.json(per_day)} if len(days) > 1 else {}),
            "statement_files": dg.MetadataValue.int(len({source for _, source in lines})),
            "credits_minor_by_currency": dg.MetadataValue.json(
                {c: int(v) for c, v in credits.groupby("currency")["amount_minor"].sum().items()}
            ),
            "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "_no lines_"),
            **taken_in_metadata(taken, days + neighbours),
        }
    )


def build_payout_assets(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: a processor's payouts arriving each day, and the items each settled."""
    payouts_key, items_key = asset_keys.payouts(spec.name), asset_keys.payout_items(spec.name)
    # in the processor's own box of the graph, beside its transactions; the cross-processor cash is in settlement
    shared = {"group_name": spec.name, "kinds": {spec.name, "python", "postgres"},
              "tags": {"processor": spec.name}}  # fmt: skip

    @dg.multi_asset(
        name=f"{spec.name}_payouts",
        specs=[
            dg.AssetSpec(
                payouts_key,
                metadata={"dagster/table_name": "payouts"},
                **shared,
                description=(
                    f"Every payout {spec.display_name} sends to the bank with the day as arrival date: amount, "
                    "currency, status and the trace id the bank line may carry."
                ),
            ),
            dg.AssetSpec(
                items_key,
                deps=[payouts_key],
                metadata={"dagster/table_name": "payout_items"},
                **shared,
                description=(
                    f"What each {spec.display_name} payout of the day settled: the charges and "
                    "refunds with their gross, fee and net, and any other balance movement."
                ),
            ),
        ],  # fmt: skip
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=PARTITIONS_PER_RUN),
        pool=spec.pool,
        required_resource_keys={spec.resource_key, "warehouse"},
    )
    def payout_assets(context: dg.AssetExecutionContext):
        client = getattr(context.resources, spec.resource_key).client()
        warehouse: WarehouseResource = context.resources.warehouse

        def land(day: date):
            try:
                arriving, settled = client.payouts(day)
                held = client.holds(day)
            except ApiError as exc:  # one line: the source, the endpoint, why
                raise dg.Failure(description=str(exc)) from None
            with warehouse.connection() as conn, day_archived_fails_in_one_line():
                settlement.replace_payouts(conn, spec.name, day, arriving, settled, context.run.run_id, held)
            return arriving, settled

        payouts, items = [], []
        for day in partition_days(context):
            arriving, settled = land(day)
            payouts, items = payouts + arriving, items + settled
        for neighbour in neighbours_to_land(context, payouts_key, PAYOUTS_WINDOW):  # in a backfill: the lookback
            arriving, settled = land(neighbour)
            for key, count in ((payouts_key, len(arriving)), (items_key, len(settled))):
                context.log_event(neighbour_landed(key, neighbour, partition_days(context),
                                                   {"dagster/row_count": dg.MetadataValue.int(count)}))  # fmt: skip
        amounts = pd.DataFrame([(p.currency, p.amount_minor) for p in payouts], columns=["currency", "amount"])
        yield dg.MaterializeResult(asset_key=payouts_key, metadata={
            "dagster/row_count": dg.MetadataValue.int(len(payouts)),
            "not_expected_in_bank": dg.MetadataValue.int(sum(not p.expected_in_bank for p in payouts)),
            "amount_minor_by_currency": dg.MetadataValue.json(
                {c: int(v) for c, v in amounts.groupby("currency")["amount"].sum().items()}),
        })  # fmt: skip
        yield dg.MaterializeResult(asset_key=items_key, metadata={
            "dagster/row_count": dg.MetadataValue.int(len(items)),
            "fees_minor": dg.MetadataValue.int(sum(i.fee_minor for i in items)),
            "items_by_kind": dg.MetadataValue.json(dict(Counter(i.kind for i in items))),
            # what the processor did not say it settled, for a person to look at
            "other_items": dg.MetadataValue.json([i.item_id for i in items if i.kind == OTHER]),
        })  # fmt: skip

    return payout_assets


payout_assets = [build_payout_assets(spec) for spec in PROCESSORS.values()]


@dg.asset(
    key=asset_keys.PAYOUT_MATCHES,
    partitions_def=daily_partitions,
    group_name="settlement",
    kinds={"python", "postgres"},
    deps=[
        *(dg.AssetDep(asset_keys.payout_items(p), partition_mapping=PAYOUTS_WINDOW) for p in PROCESSORS),
        dg.AssetDep(asset_keys.BANK_STATEMENT_LINES, partition_mapping=LINES_WINDOW),
        # money paid out but never booked: the days the payouts settled, as reconciled
        *(dg.AssetDep(asset_keys.discrepancies(p), partition_mapping=PAYOUTS_WINDOW) for p in PROCESSORS),
    ],
    check_specs=settlement_check_specs(asset_keys.PAYOUT_MATCHES),
    automation_condition=refresh_when_inputs_change(),
    metadata={"dagster/table_name": "payout_matches"},
    description=(
        "The three-way match of the day's payouts: each to the bank credit that shows it arriving (by trace id, "
        "else by processor, amount and currency within the grace window), its items against its amount, and "
        "what it settled against the ledger; plus bank credits no payout explains and fees off the schedule. "
        "A payout whose window is still open is in transit, not missing."
    ),
)
def payout_matches(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    reconciliation_settings: ReconciliationSettings,
    settlement_settings: SettlementSettings,
):
    day = partition_day(context)
    rates = reconciliation_settings.rates()
    with warehouse.connection() as conn, day_archived_fails_in_one_line():
        settled = settle(
            conn, day, context.run.run_id, datetime.now(UTC).date(), rates=rates,
            schedule=settlement_settings.schedule(), grace_business_days=settlement_settings.grace_business_days,
            fee_tolerance_minor=settlement_settings.fee_tolerance_minor,
        )  # fmt: skip
    result, arriving, frame, as_of = settled.result, settled.arriving, settled.findings, settled.as_of
    counts = counts_of(frame["discrepancy_type"])
    due = [p for p in arriving.values() if p.expected_in_bank]
    preview = frame[["processor_name", "discrepancy_type", "payout_id", "bank_reference", "processor_txn_id",
                     "at_risk_currency", "at_risk_minor"]].head(20)  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "payouts": dg.MetadataValue.int(len(arriving)),
            "matched": dg.MetadataValue.int(len(result.matches)),
            "matched_by_reference": dg.MetadataValue.int(sum(m.method == "reference" for m in result.matches)),
            "in_transit": dg.MetadataValue.int(len(result.in_transit)),
            "bank_stated_through": (as_of - timedelta(days=1)).isoformat(),
            **{f"{kind}_count": dg.MetadataValue.int(counts[kind]) for kind in names(Side.SETTLEMENT)},
            "amount_at_risk": dg.MetadataValue.float(float(sum(frame["amount_at_risk"], start=0))),
            "findings": dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "_none_"),
            "resolved_this_run": dg.MetadataValue.int(sum(c["resolved"] for c in settled.changes.values())),
        },
        check_results=evaluate_settlement(
            asset_keys.PAYOUT_MATCHES, result.findings, len(due), len(result.in_transit)
        ),  # fmt: skip
    )


@dg.asset(
    key=asset_keys.CASH_POSITION,
    partitions_def=daily_partitions,
    group_name="settlement",
    kinds={"python", "postgres"},
    deps=[asset_keys.PAYOUT_MATCHES, *(asset_keys.raw_transactions(p) for p in PROCESSORS)],
    automation_condition=refresh_when_inputs_change(),
    metadata={"dagster/table_name": "cash_positions"},
    description=(
        "Each processor's cash on the day, per currency: what its payments brought in (gross, refunds, fees, "
        "net), its payouts arriving that day, paid out into the bank or still in transit, and the funds it held "
        "for disputes that day, net of those it released."
    ),
)
def cash_position(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    day = partition_day(context)
    with warehouse.connection() as conn, day_archived_fails_in_one_line(), conn.transaction():
        archive.refuse_archived(conn, [day], f"no cash position for {day.isoformat()}")
        arriving = settlement.payouts_between(conn, day, day)
        matched = settlement.matched_payouts(conn, day)
        in_transit = settlement.in_transit_payouts(conn, day)
        positions = cash_positions(settlement.day_activity(conn, day), arriving, matched, in_transit,
                                   settlement.held_on(conn, day))  # fmt: skip
        settlement.replace_cash_positions(conn, day, positions, context.run.run_id)
    table = pd.DataFrame([vars(p) for p in positions])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(positions)),
            "position": dg.MetadataValue.md(table.to_markdown(index=False) if len(table) else "_no activity_"),
        }
    )

"""New bank statement files, noticed; then the booking days whose lines they changed, run again.

Two steps, each with a bounded cursor: ``bank_statement_files`` only lists the store and runs the intake
(``bank/statement_files``, which reads and checks the files) when a file newer than the newest it has seen
arrives; ``statement_days_changed`` reads each intake's materialisation and runs ``bank/statement_lines`` for
the days whose lines changed, so that the payout match downstream follows.
"""

import json

import dagster as dg

from recon_assets import asset_keys
from recon_assets.defs.settlement.assets import DAYS_CHANGED
from recon_assets.defs.settlement.resources import BankStatementFiles
from recon_assets.partitions import daily_partitions
from recon_assets.processors.bank_statements import is_statement

INTAKES_PER_TICK = 100


@dg.sensor(
    name="bank_statement_files",
    asset_selection=[asset_keys.BANK_STATEMENT_FILES],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every minute: whether a statement file newer than the last one seen has arrived; if so, a run "
    "of bank/statement_files takes in every file not taken in before. The cursor is the newest file seen.",
)
def bank_statement_files(context: dg.SensorEvaluationContext, bank_statements: BankStatementFiles):
    newest_seen = tuple(json.loads(context.cursor)) if context.cursor else (0.0, "")
    arrived = [(f.modified, f.name) for f in bank_statements.files() if is_statement(f.name)]
    newer = sorted(a for a in arrived if a > newest_seen)
    if not newer:
        return dg.SkipReason("no statement file newer than the last one seen")
    newest = newer[-1]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"files-through:{newest[0]}:{newest[1]}")], cursor=json.dumps(newest)
    )


@dg.sensor(
    name="statement_days_changed",
    asset_selection=[asset_keys.BANK_STATEMENT_LINES],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After an intake of statement files: a run of bank/statement_lines for each booking day whose "
    "lines it changed. The cursor is the last materialisation read.",
)
def statement_days_changed(context: dg.SensorEvaluationContext):
    after = int(context.cursor or 0)
    known = set(daily_partitions.get_partition_keys())
    requests, last = {}, after
    for key in (asset_keys.BANK_STATEMENT_FILES, asset_keys.BANK_STATEMENT_LINES):
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=INTAKES_PER_TICK, ascending=True
        ).records
        for record in records:
            last = max(last, record.storage_id)
            entry = record.asset_materialization.metadata.get(DAYS_CHANGED)
            for day in entry.value if entry is not None else ():
                if day in known:
                    requests[day] = dg.RunRequest(partition_key=day, run_key=f"{record.storage_id}:{day}")
    return dg.SensorResult(run_requests=[requests[d] for d in sorted(requests)], cursor=str(last))

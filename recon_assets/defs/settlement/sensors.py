"""New bank statement files: each one materialises the booking days it covers, once."""

import json

import dagster as dg

from recon_assets import asset_keys
from recon_assets.defs.settlement.assets import statement_lines_of
from recon_assets.defs.settlement.resources import BankStatementFiles
from recon_assets.partitions import daily_partitions


@dg.sensor(
    name="bank_statement_files",
    asset_selection=[asset_keys.BANK_STATEMENT_LINES],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every minute: statement files not seen before (or changed), and a run for each day they cover.",
)
def bank_statement_files(context: dg.SensorEvaluationContext, bank_statements: BankStatementFiles):
    seen = json.loads(context.cursor or "{}")  # file name -> the version last read
    new = [f for f in bank_statements.files() if seen.get(f.name) != f.version]
    version_of = {f.name: f.version for f in new}
    known = set(daily_partitions.get_partition_keys())
    requests = {}
    for line, source in statement_lines_of(bank_statements, new):
        day = line.booking_date.isoformat()
        if day in known:
            requests.setdefault(day, dg.RunRequest(partition_key=day, run_key=f"{day}:{source}:{version_of[source]}"))
    seen |= version_of
    return dg.SensorResult(run_requests=[requests[d] for d in sorted(requests)], cursor=json.dumps(seen))

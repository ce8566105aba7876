"""The bank's side of the cash: each booking day's statement lines, from every file delivered."""

from collections.abc import Iterable
from datetime import date

import dagster as dg
import pandas as pd

from recon_assets import asset_keys
from recon_assets.defs.settlement.resources import BankStatementFiles, StatementFile
from recon_assets.domain.settlement import BankLine
from recon_assets.partitions import OWNERS, daily_partitions, partition_day
from recon_assets.processors.bank_statements import StatementError, is_statement, read_statement
from recon_assets.warehouse import bank
from recon_assets.warehouse.resource import WarehouseResource


def statement_lines_of(files: BankStatementFiles, listed: Iterable[StatementFile]) -> list[tuple[BankLine, str]]:
    """Every line of the listed statement files, each with its file; a file that cannot be read fails, named."""
    lines = []
    for file in listed:
        if not is_statement(file.name):
            continue
        try:
            lines += [(line, file.name) for line in read_statement(file.name, files.read(file.name))]
        except (StatementError, ValueError, KeyError) as exc:
            raise dg.Failure(f"bank statement {file.name} cannot be read: {exc}", allow_retries=False) from None
    return lines


def latest_statement_of_day(lines: list[tuple[BankLine, str]], listed: list[StatementFile], day: date):
    """The day's lines; where several files state one account's day, the latest file's (a correction)."""
    modified = {f.name: (f.modified, f.name) for f in listed}
    newest: dict[str | None, tuple[float, str]] = {}
    for line, source in lines:
        if line.booking_date == day:
            newest[line.account] = max(newest.get(line.account, modified[source]), modified[source])
    return [(line, source) for line, source in lines
            if line.booking_date == day and modified[source] == newest[line.account]]  # fmt: skip


@dg.asset(
    key=asset_keys.BANK_STATEMENT_LINES,
    partitions_def=daily_partitions,
    group_name="settlement",
    kinds={"python", "postgres"},
    owners=OWNERS,
    metadata={"dagster/table_name": "bank_statement_lines"},
    description=(
        "Every line the bank booked on the day, from the statement files delivered (BAI2, camt.053, MT940), "
        "credits positive: what actually arrived. A corrected statement of an account's day replaces it."
    ),
)
def statement_lines(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, bank_statements: BankStatementFiles
):
    day = partition_day(context)
    listed = bank_statements.files()
    lines = latest_statement_of_day(statement_lines_of(bank_statements, listed), listed, day)
    with warehouse.connection() as conn:
        written = bank.replace_statement_lines(conn, day, lines, context.run.run_id)
    credits = pd.DataFrame([(x.currency, x.amount_minor) for x, _ in lines if x.amount_minor > 0],
                           columns=["currency", "amount_minor"])  # fmt: skip
    preview = pd.DataFrame(
        [(x.line_id, x.bank_reference, x.amount_minor, x.currency, x.text, source) for x, source in lines[:20]],
        columns=["line_id", "bank_reference", "amount_minor", "currency", "text", "file"],
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "files": dg.MetadataValue.int(len({source for _, source in lines})),
            "credits_minor_by_currency": dg.MetadataValue.json(
                {c: int(v) for c, v in credits.groupby("currency")["amount_minor"].sum().items()}
            ),
            "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "_no lines_"),
        }
    )

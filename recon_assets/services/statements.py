"""Taking in the bank's statement files, each on its own: checked whole, then landed, or quarantined.

A file is taken in once per version, oldest delivery first, under one lock (two runs never take in one file
twice). A file that fails its checks is registered as quarantined with its reason and touches nothing
landed. A file that passes replaces exactly the account-days it states, and only those whose lines
change: each replacement is audited with the lines it replaced; where the replaced lines came from another
file (not an earlier version of the same one), the two files disagree, and the account-day is recorded
as a statement conflict naming both. The later delivery's lines stand until a person decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import psycopg

from recon_assets.domain.settlement import BankLine
from recon_assets.processors.bank_statements import (
    MAX_FILE_BYTES,
    Statement,
    StatementError,
    is_statement,
    read_statement,
)
from recon_assets.warehouse import bank, store
from recon_assets.warehouse.locks import lock_partition

LANDED, UNCHANGED, QUARANTINED = "landed", "unchanged", "quarantined"
ACTOR = "bank_statements"


class DeliveredFile(Protocol):
    """A file as its store lists it (``file_store.StoredFile``)."""

    name: str
    version: str  # changes whenever the file does
    modified: float
    size: int


@dataclass(frozen=True)
class TakenIn:
    name: str
    version: str
    status: str  # LANDED, UNCHANGED or QUARANTINED
    reason: str | None = None  # why it was quarantined
    days_changed: tuple[date, ...] = ()  # the booking days whose lines it replaced
    lines: int = 0
    conflicts: int = 0  # account-days another file stated differently


def _totals(lines: Iterable[BankLine]) -> dict[str, int]:
    lines = list(lines)
    return {"lines": len(lines), "credits_minor": sum(x.amount_minor for x in lines if x.amount_minor > 0),
            "debits_minor": sum(x.amount_minor for x in lines if x.amount_minor < 0)}  # fmt: skip


def take_in(conn: psycopg.Connection, file: DeliveredFile, read: Callable[[str], bytes], run_id: str) -> TakenIn | None:
    """Take in one file (None when this version was taken in already, by this run or another)."""
    with conn.transaction():
        lock_partition(conn, "statement_files")
        if bank.is_taken_in(conn, file.name, file.version):
            return None
        data = b"" if file.size > MAX_FILE_BYTES else read(file.name)
        digest = hashlib.sha256(data).hexdigest()
        try:
            if file.size > MAX_FILE_BYTES:
                raise StatementError(f"a file of {file.size:,} bytes (at most {MAX_FILE_BYTES:,})")
            statement = read_statement(file.name, data)
        except StatementError as exc:
            reason = str(exc)
            bank.register_file(conn, file.name, file.version, sha256=digest, size_bytes=file.size,
                               status=QUARANTINED, reason=reason, run_id=run_id)  # fmt: skip
            store.audit(conn, ACTOR, "statement_quarantined", "statement_files", file.name,
                        {"version": file.version, "sha256": digest, "reason": reason, "run_id": run_id})  # fmt: skip
            return TakenIn(file.name, file.version, QUARANTINED, reason)
        changed, conflicts = _land(conn, file, statement, run_id)
        status = LANDED if changed else UNCHANGED
        bank.register_file(conn, file.name, file.version, sha256=digest, size_bytes=file.size, status=status,
                           run_id=run_id, format=statement.format, account_days=statement.account_days,
                           lines=len(statement.lines), pending=statement.pending)  # fmt: skip
    return TakenIn(file.name, file.version, status, None, tuple(sorted(set(changed))), len(statement.lines), conflicts)


def _land(conn: psycopg.Connection, file: DeliveredFile, statement: Statement, run_id: str) -> tuple[list[date], int]:
    """Replace the account-days the statement changes; returns their days and how many conflict with another file."""
    changed, conflicts = [], 0
    for account, day in sorted(statement.account_days):
        new = [x for x in statement.lines if (x.account, x.booking_date) == (account, day)]
        old = bank.lines_of_account_day(conn, account, day)
        if [x for x, _ in old] == new:
            continue
        replaced = sorted({source for _, source in old})
        details = {"file": file.name, "version": file.version, "replaced_files": replaced,
                   "before": _totals(x for x, _ in old), "after": _totals(new),
                   "replaced_lines": [[x.line_id, x.bank_reference, x.amount_minor, x.currency, x.text, x.reference]
                                      for x, _ in old]}  # fmt: skip
        bank.replace_account_day(conn, account, day, new, file.name, run_id)
        store.audit(conn, ACTOR, "statement_replaced" if old else "statement_landed", "bank_statement_lines",
                    f"{account}/{day.isoformat()}", details)  # fmt: skip
        for other in (f for f in replaced if f != file.name):
            conflicts += 1
            bank.record_conflict(conn, account, day, file.name, other,
                                 {"before": details["before"], "after": details["after"]}, run_id)  # fmt: skip
        changed.append(day)
    return changed, conflicts


def take_in_new(
    conn: psycopg.Connection, delivered: Iterable[DeliveredFile], read: Callable[[str], bytes], run_id: str
) -> list[TakenIn]:
    """Every delivered statement file not taken in before, oldest first; each on its own."""
    known = bank.taken_in(conn)
    new = sorted((f for f in delivered if is_statement(f.name) and (f.name, f.version) not in known),
                 key=lambda f: (f.modified, f.name))  # fmt: skip
    return [t for f in new if (t := take_in(conn, f, read, run_id)) is not None]

"""Every kind of finding recon reports, written once: its side, whether it counts as missing money, whether it
only advises a person, and its label in people's words. The order of ``FINDING_TYPES`` is the order of the
CSV, the JSON counts and the summary's table.

A new kind is one entry here plus the migration that admits it to ``discrepancies``; the CLI's choices, the
launchpad's validation, the run counts, the summary and the reports all read this list when they run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Self


class Side(StrEnum):
    """What a finding is about: a transaction against the ledger, or cash against the bank."""

    TRANSACTION = "transaction"
    SETTLEMENT = "settlement"


class FindingType(str):
    """A finding's type: its name as stored (a ``str``, so it compares and hashes as the name), with its traits."""

    side: Side
    label: str
    missing: bool  # money one side never booked: raises the risk level's missing count, shown in bold
    advisory: bool  # advises a person: no amount at risk, outside the discrepancy rate

    def __new__(cls, name: str, side: Side, label: str, *, missing: bool = False, advisory: bool = False) -> Self:
        kind = super().__new__(cls, name)
        kind.side, kind.label, kind.missing, kind.advisory = side, label, missing, advisory
        return kind

    @property
    def name(self) -> str:
        return str.__str__(self)


MISSING_IN_LEDGER = FindingType("missing_in_ledger", Side.TRANSACTION, "Missing in ledger", missing=True)
MISSING_AT_PROCESSOR = FindingType("missing_at_processor", Side.TRANSACTION, "Missing at processor", missing=True)
AMOUNT_MISMATCH = FindingType("amount_mismatch", Side.TRANSACTION, "Amount mismatch")
CURRENCY_MISMATCH = FindingType("currency_mismatch", Side.TRANSACTION, "Currency mismatch")
STATUS_MISMATCH = FindingType("status_mismatch", Side.TRANSACTION, "Status mismatch")
DUPLICATE = FindingType("duplicate", Side.TRANSACTION, "Duplicate")
GROUP_AMOUNT_MISMATCH = FindingType("group_amount_mismatch", Side.TRANSACTION, "Group amount mismatch")
SUGGESTED_MATCH = FindingType("suggested_match", Side.TRANSACTION, "Suggested match", advisory=True)
PAYOUT_NOT_IN_BANK = FindingType("payout_not_in_bank", Side.SETTLEMENT, "Payout not in bank")
UNEXPLAINED_BANK_CREDIT = FindingType("unexplained_bank_credit", Side.SETTLEMENT, "Unexplained bank credit")
PAYOUT_AMOUNT_MISMATCH = FindingType("payout_amount_mismatch", Side.SETTLEMENT, "Payout amount mismatch")
PAYOUT_COMPOSITION_MISMATCH = FindingType("payout_composition_mismatch", Side.SETTLEMENT, "Payout composition mismatch")
# money a payout paid that the ledger never booked is missing from the books too
PAID_OUT_NOT_BOOKED = FindingType("paid_out_not_booked", Side.SETTLEMENT, "Paid out not booked", missing=True)
FEE_VARIANCE = FindingType("fee_variance", Side.SETTLEMENT, "Fee variance")
NEGATIVE_PAYOUT = FindingType("negative_payout", Side.SETTLEMENT, "Payout taken from the bank")

FINDING_TYPES: tuple[FindingType, ...] = (
    MISSING_IN_LEDGER, MISSING_AT_PROCESSOR, AMOUNT_MISMATCH, CURRENCY_MISMATCH, STATUS_MISMATCH, DUPLICATE,
    GROUP_AMOUNT_MISMATCH, SUGGESTED_MATCH, PAYOUT_NOT_IN_BANK, UNEXPLAINED_BANK_CREDIT, PAYOUT_AMOUNT_MISMATCH,
    PAYOUT_COMPOSITION_MISMATCH, NEGATIVE_PAYOUT, PAID_OUT_NOT_BOOKED, FEE_VARIANCE,
)  # fmt: skip


def finding_types(side: Side | None = None) -> tuple[FindingType, ...]:
    """Every finding type in report order, or those of one side (read at call time: a test may add one)."""
    return tuple(kind for kind in FINDING_TYPES if side is None or kind.side == side)


def names(side: Side | None = None) -> tuple[str, ...]:
    return tuple(kind.name for kind in finding_types(side))


def finding_type(name: str) -> FindingType:
    """The type called ``name``; an unknown name is refused in one line that lists the known ones."""
    for kind in FINDING_TYPES:
        if kind == name:
            return kind
    raise ValueError(f"unknown finding type {name!r}; known: {', '.join(names())}")


def missing_count(counts: Mapping[str, int]) -> int:
    """Of per-type counts, those of money one side never booked."""
    return sum(counts.get(kind, 0) for kind in FINDING_TYPES if kind.missing)


def rated_count(counts: Mapping[str, int]) -> int:
    """Of per-type counts, those the discrepancy rate is made of: the day's transactions, not advice."""
    return sum(counts.get(kind, 0) for kind in finding_types(Side.TRANSACTION) if not kind.advisory)


def counts_of(kinds: Iterable[str]) -> dict[str, int]:
    """How many findings of each type ``kinds`` holds: every type, in report order, 0 where none."""
    counts = dict.fromkeys(names(), 0)
    for kind in kinds:
        counts[finding_type(kind).name] += 1
    return counts


class Role(StrEnum):
    """Who writes a column of a finding row, and when."""

    KEY = "key"  # what the finding is about: written once, never changed (with the type, its identity)
    FACT = "fact"  # what a run found: written by each run that finds it again
    PRICE = "price"  # the amount at risk in the reporting currency, priced when written
    RUN = "run"  # the run's own: its day, processor, currency and dates
    HISTORY = "history"  # the exception workflow's: resolution


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # as the discrepancies table declares it; a list (``text[]``) travels as space-separated text
    role: Role
    side: Side | None = None  # None: both sides fill it
    description: str = ""
    reported: bool = True  # a column of the CSV report


# A finding row, as the warehouse keeps it, the runs write it and the CSV lists it (in the CSV's order).
FINDING_ROW: tuple[Column, ...] = (
    Column("id", "bigint", Role.HISTORY, description="The exception's id, as recon exceptions show and assign take it"),
    Column("business_date", "date", Role.RUN),
    Column("processor_name", "text", Role.RUN),
    Column("discrepancy_type", "text", Role.KEY, description="The finding's type (finding_types)"),
    Column(
        "kind",
        "text",
        Role.KEY,
        description="The money movement it is about: charge, refund, chargeback, chargeback_reversal, dispute_fee "
        "(a dispute's movements share its reference), payout, bank_credit, or a payout item's kind",
    ),
    Column("processor_txn_id", "text", Role.KEY, description="The processor's id (null when missing at processor)"),
    Column("ledger_id", "text", Role.KEY, Side.TRANSACTION, "The ledger entry (null when missing in ledger)"),
    Column("related_ledger_id", "text", Role.FACT, Side.TRANSACTION, "For a duplicate: the entry it duplicates"),
    Column("processor_amount_minor", "bigint", Role.FACT, Side.TRANSACTION, "Minor units of processor_currency"),
    Column("processor_currency", "char(3)", Role.FACT, Side.TRANSACTION),
    Column("processor_status", "text", Role.FACT, Side.TRANSACTION),
    Column("ledger_amount_minor", "bigint", Role.FACT, Side.TRANSACTION, "Minor units of ledger_currency"),
    Column("ledger_currency", "char(3)", Role.FACT, Side.TRANSACTION),
    Column("ledger_status", "text", Role.FACT, Side.TRANSACTION),
    Column("at_risk_minor", "bigint", Role.FACT, description="Amount at risk in minor units of at_risk_currency"),
    Column("at_risk_currency", "char(3)", Role.FACT),
    Column("amount_at_risk", "numeric(18,2)", Role.PRICE, description="In the reporting currency"),
    Column("reporting_currency", "char(3)", Role.RUN),
    Column("first_detected_on", "date", Role.RUN),
    Column("last_detected_on", "date", Role.RUN),
    Column("resolved_on", "date", Role.HISTORY, description="Null while open"),
    Column(
        "resolution",
        "text",
        Role.HISTORY,
        description="How it was resolved: auto_matched by a later run, manual_match, or a person's reason",
    ),  # fmt: skip
    Column("state", "text", Role.HISTORY, description="open, assigned or resolved (the exception workflow)"),
    Column("assigned_to", "text", Role.HISTORY, description="The person or team working it"),
    Column("group_members", "text[]", Role.FACT, Side.TRANSACTION, "For a group finding: the ids of its members"),
    Column("payout_id", "text", Role.KEY, Side.SETTLEMENT, "The payout a cash finding is about"),
    Column("bank_reference", "text", Role.FACT, Side.SETTLEMENT, "The bank line's own reference"),
    Column("expected_minor", "bigint", Role.FACT, Side.SETTLEMENT, "What was expected, in at_risk_currency"),
    Column("actual_minor", "bigint", Role.FACT, Side.SETTLEMENT, "What came, in at_risk_currency"),
    Column("bank_line_id", "text", Role.KEY, Side.SETTLEMENT, "The bank line a cash finding is about", False),
)


def finding_columns(*roles: Role, side: Side | None = None, reported: bool | None = None) -> tuple[Column, ...]:
    """The finding row's columns of ``roles`` (all when none), filled by ``side`` (both sides' too)."""
    return tuple(
        column
        for column in FINDING_ROW
        if (not roles or column.role in roles)
        and (side is None or column.side in (None, side))
        and (reported is None or column.reported == reported)
    )


def written_by_runs(side: Side | None = None) -> tuple[str, ...]:
    """What a reconciliation or settlement run supplies of a finding (the rest is the run's or history's)."""
    return tuple(c.name for c in finding_columns(Role.KEY, Role.FACT, Role.PRICE, side=side))


REPORT_COLUMNS = tuple(c.name for c in finding_columns(reported=True))

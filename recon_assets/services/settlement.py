"""Settling a day: its payouts' three-way match against the bank, their items and the ledger, and its fees.

The grace window is set once (``RECON_PAYOUT_GRACE_BUSINESS_DAYS``): the days a day's settlement reads, the
assets' dependencies and ``recon run``'s plan all follow from ``windows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import psycopg

from recon_assets.domain.findings import Side, names, written_by_runs
from recon_assets.domain.money import FxRates
from recon_assets.domain.settlement import (
    DEFAULT_GRACE_BUSINESS_DAYS,
    ChargeFee,
    DaySettlement,
    FeeSchedule,
    SettlementFinding,
    grace_span_days,
    settle_day,
)
from recon_assets.processors.registry import PROCESSORS
from recon_assets.settings import whole_number
from recon_assets.warehouse import archive, findings, settlement
from recon_assets.warehouse.locks import lock_partition


def configured_grace_business_days() -> int:
    """The grace a paid payout has to reach the bank, in business days: the variable's, else the default."""
    return whole_number("RECON_PAYOUT_GRACE_BUSINESS_DAYS", DEFAULT_GRACE_BUSINESS_DAYS)


@dataclass(frozen=True)
class Windows:
    """The calendar days around a day that its settlement reads."""

    span: int  # the days a payout's grace window spans at most: the bank lines read after the day
    lookback: int  # the payouts and lines read before it (earlier payouts pick their credits first)


def windows(grace_business_days: int | None = None) -> Windows:
    """The settlement's windows for a grace (the configured one when None)."""
    span = grace_span_days(configured_grace_business_days() if grace_business_days is None else grace_business_days)
    return Windows(span=span, lookback=2 * span)


# A settlement finding as a row of discrepancies: its processor and the settlement side's written columns
SETTLEMENT_COLUMNS = ("processor_name", *written_by_runs(Side.SETTLEMENT))


def settlement_frame(found: Sequence[SettlementFinding], rates: FxRates) -> pd.DataFrame:
    """Settlement findings as rows of ``discrepancies`` (with their processor), priced in the reporting currency."""
    rows = []
    for f in found:
        values = {
            **vars(f),
            "at_risk_currency": f.currency,
            "amount_at_risk": rates.convert(f.at_risk_minor, f.currency),
        }
        rows.append({column: values.get(column) for column in SETTLEMENT_COLUMNS})
    frame = pd.DataFrame(rows, columns=list(SETTLEMENT_COLUMNS))
    for column in ("at_risk_minor", "expected_minor", "actual_minor"):
        frame[column] = frame[column].astype("Int64")
    return frame


def charge_fees(conn: psycopg.Connection, day: date, payouts, items) -> list[ChargeFee]:
    """The day's charges with the fee each was charged: from the payout items of processors that report fees
    there (in the payout's currency, the settled amount where the charge was converted), from the
    transactions themselves for the others."""
    of = {p.payout_id: p for p in payouts}
    on_items = {name for name, spec in PROCESSORS.items() if spec.fees_on_payout_items}
    fees = [ChargeFee(of[i.payout_id].processor, i.processor_txn_id, day, i.gross_minor, of[i.payout_id].currency,
                      i.fee_minor, converted=i.exchange_rate is not None)
            for i in items if i.kind == "charge" and of[i.payout_id].processor in on_items]  # fmt: skip
    return fees + [f for p in PROCESSORS if p not in on_items for f in settlement.fees_of_transactions(conn, p, day)]


@dataclass(frozen=True)
class SettledDay:
    result: DaySettlement
    arriving: dict  # payout id -> the payouts arriving on the day
    findings: pd.DataFrame  # the settlement findings, priced, as rows of discrepancies
    changes: dict[str, dict[str, int]]  # processor -> inserted, reopened, resolved
    as_of: date  # the bank has stated every day before this one


def settle(
    conn: psycopg.Connection,
    day: date,
    run_id: str,
    today: date,
    *,
    rates: FxRates,
    schedule: FeeSchedule,
    grace_business_days: int,
    fee_tolerance_minor: int,
) -> SettledDay:
    """Settle ``day``: read its windows, match, write the matches and bring its settlement findings in line."""
    window = windows(grace_business_days)
    archive.refuse_archived(conn, [day], f"{day.isoformat()} is not settled")  # its payout items left with it
    with conn.transaction():
        lock_partition(conn, "payout_matches", "settlement", day)
        first, last = day - timedelta(days=window.lookback), day + timedelta(days=window.span)
        payouts = settlement.payouts_between(conn, first, day)
        items = settlement.items_arriving(conn, day)
        lines = settlement.lines_between(conn, first, last)
        # a credit that names its payout by trace id is matched however late: the day's payouts' credits
        # booked after the window, and the payouts from before it that the window's credits name
        lines += settlement.lines_with_references(conn, [p.trace_id for p in payouts if p.trace_id], last)
        payouts = settlement.payouts_with_traces(conn, [x.reference for x in lines if x.reference], first) + payouts
        stated = settlement.stated_through(conn)
        as_of = stated + timedelta(days=1) if stated else day
        of = {p.payout_id: p for p in payouts}
        settled = {p: {i.processor_txn_id for i in items if i.processor_txn_id and of[i.payout_id].processor == p}
                   for p in PROCESSORS}  # fmt: skip
        unbooked = {
            t: v for p, ids in settled.items() for t, v in settlement.unbooked_transactions(conn, p, ids).items()
        }
        result = settle_day(
            day, payouts, items, lines, unbooked, charge_fees(conn, day, payouts, items),
            schedule=schedule, as_of=as_of, processors=tuple(PROCESSORS),
            grace_business_days=grace_business_days, fee_tolerance_minor=fee_tolerance_minor,
        )  # fmt: skip
        arriving = {p.payout_id: p for p in payouts if p.arrival_date == day}
        settlement.replace_matches(conn, day, result.matches, arriving, {x.line_id: x for x in lines}, run_id)
        findings.answer_late_payouts(conn, [(p.processor, p.payout_id, p.arrival_date) for p in result.arrived_late],
                                     day, run_id)  # fmt: skip
        frame = settlement_frame(result.findings, rates)
        changes = {
            processor: findings.sync_discrepancies(
                conn, processor, day, frame[frame["processor_name"] == processor], rates.reporting_currency,
                run_id, today, names(Side.SETTLEMENT),
            )
            for processor in PROCESSORS
        }  # fmt: skip
    return SettledDay(result, arriving, frame, changes, as_of)

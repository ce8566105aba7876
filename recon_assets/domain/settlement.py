"""Cash reconciliation, the three-way match: did each payout reach the bank, did it pay out what its items
net to, was everything it settled booked, and were the fees what the schedule says.

Pure functions over plain records; the warehouse and the assets feed them. Definitions (issue 14):
business days are Monday to Friday, with no holiday calendar; banks book on any calendar day. A bank line
is from a processor when its counterparty or description names it (any case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

PAYOUT_NOT_IN_BANK = "payout_not_in_bank"
UNEXPLAINED_BANK_CREDIT = "unexplained_bank_credit"
PAYOUT_AMOUNT_MISMATCH = "payout_amount_mismatch"
PAYOUT_COMPOSITION_MISMATCH = "payout_composition_mismatch"
PAID_OUT_NOT_BOOKED = "paid_out_not_booked"
FEE_VARIANCE = "fee_variance"
SETTLEMENT_TYPES = (
    PAYOUT_NOT_IN_BANK, UNEXPLAINED_BANK_CREDIT, PAYOUT_AMOUNT_MISMATCH, PAYOUT_COMPOSITION_MISMATCH,
    PAID_OUT_NOT_BOOKED, FEE_VARIANCE,
)  # fmt: skip
DEFAULT_GRACE_BUSINESS_DAYS = 2  # a paid payout may reach the bank this many business days after arrival
BY_REFERENCE, BY_AMOUNT = "reference", "amount"  # how a payout was matched to its bank line


def add_business_days(day: date, count: int) -> date:
    """``count`` business days (Monday to Friday) after ``day``."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def processor_named(text: str | None, processors: Sequence[str]) -> str | None:
    """The processor a bank line's counterparty or description names, if exactly one."""
    folded = (text or "").casefold()
    named = [p for p in processors if p.casefold() in folded]
    return named[0] if len(named) == 1 else None


@dataclass(frozen=True)
class Payout:
    processor: str
    payout_id: str
    amount_minor: int
    currency: str
    arrival_date: date
    expected_in_bank: bool  # paid (or sent): a bank credit must follow; failed or canceled: none will
    trace_id: str | None = None  # Stripe's trace_id.value, Square's end_to_end_id


@dataclass(frozen=True)
class BankLine:
    line_id: str  # unique per line (statement and position): two identical lines are two lines
    bank_reference: str | None  # the bank's own reference (BAI2 bank reference, AcctSvcrRef, MT940's)
    booking_date: date
    amount_minor: int  # credits positive
    currency: str
    text: str  # counterparty and description, as the statement gives them
    reference: str | None = None  # a trace or end-to-end id the line carries
    account: str | None = None  # the bank account the statement is of


@dataclass(frozen=True)
class PayoutItem:
    payout_id: str
    processor_txn_id: str | None  # the charge or refund it settles (None for a fee or an adjustment)
    net_minor: int


@dataclass(frozen=True)
class SettlementFinding:
    discrepancy_type: str
    processor_name: str
    business_date: date
    at_risk_minor: int
    currency: str
    payout_id: str | None = None
    bank_reference: str | None = None
    processor_txn_id: str | None = None
    expected_minor: int | None = None  # what the payout (or the schedule) says
    actual_minor: int | None = None  # what the bank (or the items, or the processor) says


@dataclass(frozen=True)
class PayoutMatch:
    payout_id: str
    line_id: str
    method: str  # BY_REFERENCE or BY_AMOUNT


@dataclass
class TieOut:
    matches: list[PayoutMatch] = field(default_factory=list)
    findings: list[SettlementFinding] = field(default_factory=list)
    in_transit: list[str] = field(default_factory=list)  # payouts whose window is still open


def tie_out(
    payouts: Iterable[Payout],
    lines: Iterable[BankLine],
    as_of: date,
    processors: Sequence[str],
    grace_business_days: int = DEFAULT_GRACE_BUSINESS_DAYS,
) -> TieOut:
    """Match payouts to the bank's credits, one to one.

    By trace id when both carry one (a line that carries a reference is matched by it alone); otherwise
    by processor, amount and currency exactly, booked from the arrival date to the end of the grace
    window, the earliest fitting line first. A payout unmatched once its window has closed (``as_of``
    after it) is not in the bank; a processor's credit no payout explains is unexplained (a repeated
    line is unexplained on the later one).
    """
    result = TieOut()
    expected = sorted((p for p in payouts if p.expected_in_bank), key=lambda p: (p.arrival_date, p.payout_id))
    credits = sorted(
        (line for line in lines if line.amount_minor > 0 and processor_named(line.text, processors)),
        key=lambda line: (line.booking_date, line.line_id),
    )
    used: set[str] = set()
    by_reference = {}
    for line in credits:
        if line.reference:
            by_reference.setdefault(line.reference, []).append(line)

    unmatched = []
    for payout in expected:
        deadline = add_business_days(payout.arrival_date, grace_business_days)
        named = [line for line in by_reference.get(payout.trace_id or "", ()) if line.line_id not in used]
        if payout.trace_id and named:
            line = named[0]
            used.add(line.line_id)
            result.matches.append(PayoutMatch(payout.payout_id, line.line_id, BY_REFERENCE))
            if line.amount_minor != payout.amount_minor or line.currency != payout.currency:
                result.findings.append(SettlementFinding(
                    PAYOUT_AMOUNT_MISMATCH, payout.processor, payout.arrival_date,
                    abs(payout.amount_minor - line.amount_minor), payout.currency, payout.payout_id,
                    line.bank_reference, expected_minor=payout.amount_minor, actual_minor=line.amount_minor,
                ))  # fmt: skip
            continue
        unmatched.append((payout, deadline))
    for payout, deadline in unmatched:
        fitting = next(
            (line for line in credits
             if line.line_id not in used and not line.reference
             and processor_named(line.text, processors) == payout.processor
             and line.amount_minor == payout.amount_minor and line.currency == payout.currency
             and payout.arrival_date <= line.booking_date <= deadline),
            None,
        )  # fmt: skip
        if fitting is not None:
            used.add(fitting.line_id)
            result.matches.append(PayoutMatch(payout.payout_id, fitting.line_id, BY_AMOUNT))
        elif as_of > deadline:
            result.findings.append(SettlementFinding(
                PAYOUT_NOT_IN_BANK, payout.processor, payout.arrival_date, abs(payout.amount_minor),
                payout.currency, payout.payout_id, expected_minor=payout.amount_minor,
            ))  # fmt: skip
        else:
            result.in_transit.append(payout.payout_id)
    for line in credits:
        if line.line_id not in used:
            result.findings.append(SettlementFinding(
                UNEXPLAINED_BANK_CREDIT, processor_named(line.text, processors), line.booking_date,
                line.amount_minor, line.currency, bank_reference=line.bank_reference, actual_minor=line.amount_minor,
            ))  # fmt: skip
    return result


def composition_findings(payouts: Iterable[Payout], items: Iterable[PayoutItem]) -> list[SettlementFinding]:
    """Payouts whose amount is not the sum of their items' nets (payouts without items are not checked)."""
    nets: dict[str, int] = {}
    for item in items:
        nets[item.payout_id] = nets.get(item.payout_id, 0) + item.net_minor
    return [
        SettlementFinding(
            PAYOUT_COMPOSITION_MISMATCH, p.processor, p.arrival_date, abs(p.amount_minor - nets[p.payout_id]),
            p.currency, p.payout_id, expected_minor=p.amount_minor, actual_minor=nets[p.payout_id],
        )
        for p in payouts if p.payout_id in nets and nets[p.payout_id] != p.amount_minor
    ]  # fmt: skip


def paid_out_not_booked(
    payouts: Iterable[Payout], items: Iterable[PayoutItem], missing_in_ledger: Mapping[str, tuple[int, str]]
) -> list[SettlementFinding]:
    """Transactions a payout settled that the ledger never booked (``missing_in_ledger``: id -> (amount,
    currency)): money received and not booked."""
    by_id = {p.payout_id: p for p in payouts}
    found = []
    for item in items:
        if item.processor_txn_id in missing_in_ledger and item.payout_id in by_id:
            payout = by_id[item.payout_id]
            amount, currency = missing_in_ledger[item.processor_txn_id]
            found.append(SettlementFinding(
                PAID_OUT_NOT_BOOKED, payout.processor, payout.arrival_date, abs(amount), currency,
                payout.payout_id, processor_txn_id=item.processor_txn_id, actual_minor=amount,
            ))  # fmt: skip
    return found


@dataclass(frozen=True)
class FeeRate:
    percent: Decimal = Decimal("2.9")
    fixed_minor: int = 30

    def fee(self, amount_minor: int) -> int:
        """The fee on a charge: the percent part rounded half-up to the minor unit, plus the fixed part."""
        variable = (Decimal(abs(amount_minor)) * self.percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(variable) + self.fixed_minor


@dataclass(frozen=True)
class FeeSchedule:
    """Fee rates per processor and currency. Unless overridden, every processor charges the default rate in
    ``default_currency``; a currency with no rate is not checked."""

    rates: Mapping[str, Mapping[str, FeeRate]] = field(default_factory=dict)
    default_currency: str = "USD"

    def rate(self, processor: str, currency: str) -> FeeRate | None:
        own = self.rates.get(processor, {})
        return own.get(currency) or (FeeRate() if currency == self.default_currency else None)


def fee_variances(
    processor: str,
    charges: Iterable[tuple[str, date, int, str, int]],
    schedule: FeeSchedule,
    tolerance_minor: int = 0,
) -> list[SettlementFinding]:
    """Charges (id, business date, amount, currency, fee charged) whose fee differs from the schedule by more
    than ``tolerance_minor``. Refunds carry no fee and are not passed in."""
    found = []
    for txn_id, day, amount, currency, fee in charges:
        rate = schedule.rate(processor, currency)
        if rate is None:
            continue
        expected = rate.fee(amount)
        if abs(fee - expected) > tolerance_minor:
            found.append(SettlementFinding(
                FEE_VARIANCE, processor, day, abs(fee - expected), currency, processor_txn_id=txn_id,
                expected_minor=expected, actual_minor=fee,
            ))  # fmt: skip
    return found

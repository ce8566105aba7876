"""Cash reconciliation, the three-way match: did each payout reach the bank, did it pay out what its items
net to, was everything it settled booked, and were the fees what the schedule says.

Pure functions over plain records; the warehouse and the assets feed them. Definitions (issue 14):
business days are Monday to Friday, with no holiday calendar; banks book on any calendar day. A bank line
is from a processor when its counterparty or description names it (any case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from recon_assets.domain.findings import (
    FEE_VARIANCE,
    NEGATIVE_PAYOUT,
    PAID_OUT_NOT_BOOKED,
    PAYOUT_AMOUNT_MISMATCH,
    PAYOUT_COMPOSITION_MISMATCH,
    PAYOUT_NOT_IN_BANK,
    UNEXPLAINED_BANK_CREDIT,
)
from recon_assets.domain.records import Kind

DEFAULT_GRACE_BUSINESS_DAYS = 2  # a paid payout may reach the bank this many business days after arrival
# How long after a payment its payout item is looked for (the currency and amounts it settled at, the fee
# withheld): a monthly payout schedule on top of two weeks' hold on new funds. A payment paid out later (a
# manual payout held longer) counts in the day's cash position at its own currency, amount and fee.
PAID_OUT_WITHIN_DAYS = 45
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
    itemised: bool = False  # the processor lists what it settled (an automatic payout): its items must add up


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


# What a payout item settles: a payment or its refund; money a dispute moved (the funds withdrawn, with the
# processor's fee where it reports it on the same item, a separate dispute fee, the funds returned); a hold on
# the balance and its release; an adjustment; anything else is ``other``
CHARGE, REFUND, CHARGEBACK = Kind.CHARGE.value, Kind.REFUND.value, Kind.CHARGEBACK.value
CHARGEBACK_REVERSAL, DISPUTE_FEE = Kind.CHARGEBACK_REVERSAL.value, Kind.DISPUTE_FEE.value
HOLD, HOLD_RELEASE, ADJUSTMENT, OTHER = "hold", "hold_release", "adjustment", "other"
ITEM_KINDS = (CHARGE, REFUND, CHARGEBACK, CHARGEBACK_REVERSAL, DISPUTE_FEE, HOLD, HOLD_RELEASE, ADJUSTMENT, OTHER)
PAYOUT, BANK_CREDIT = "payout", "bank_credit"  # what a cash finding about no transaction is about (its kind)


@dataclass(frozen=True)
class PayoutItem:
    payout_id: str
    processor_txn_id: str | None  # the charge, refund or dispute it settles (None for a fee or an adjustment)
    net_minor: int
    kind: str = OTHER  # one of ITEM_KINDS
    gross_minor: int = 0
    fee_minor: int = 0  # the processor's fee on it, as the processor reports it
    item_id: str = ""  # the processor's id of the item (Stripe's balance transaction, Square's payout entry)
    occurred_at: datetime | None = None  # when the movement it settles happened, as the processor says
    # the rate the processor converted the movement at (presentment to the payout's currency), when it did:
    # the item's amounts are then the settled ones, in the payout's currency
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class BalanceHold:
    """Funds a processor held on its balance for a dispute (``HOLD``, negative) or released (``HOLD_RELEASE``,
    positive), outside any payout (PayPal's ``T1110`` and ``T1111``)."""

    hold_id: str
    kind: str
    amount_minor: int
    currency: str
    occurred_at: datetime


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
    bank_line_id: str | None = None  # the bank line it is about, where it is about one
    kind: str = PAYOUT  # the movement it is about: the payout, a bank credit, an item's or a charge's kind


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

    A line carrying a payout's trace id is its credit whenever it is booked from the arrival date on, late
    included: the trace names the payout (a line that carries a reference is matched by it alone).
    Otherwise only lines booked from the arrival date to the end of the grace window fit, by processor,
    amount and currency exactly, the earliest fitting line first. A payout unmatched once its window has
    closed (``as_of`` after it) is not in the bank; a processor's credit no payout explains is unexplained
    (a repeated line is unexplained on the later one).
    """
    result = TieOut()
    # a payout of zero or less (Square's withdrawals from the seller) brings no credit to wait for
    expected = sorted((p for p in payouts if p.expected_in_bank and p.amount_minor > 0),
                      key=lambda p: (p.arrival_date, p.payout_id))  # fmt: skip
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
        named = [line for line in by_reference.get(payout.trace_id or "", ())
                 if line.line_id not in used and payout.arrival_date <= line.booking_date]  # fmt: skip
        if payout.trace_id and named:
            line = named[0]
            used.add(line.line_id)
            result.matches.append(PayoutMatch(payout.payout_id, line.line_id, BY_REFERENCE))
            if line.amount_minor != payout.amount_minor or line.currency != payout.currency:
                result.findings.append(SettlementFinding(
                    PAYOUT_AMOUNT_MISMATCH, payout.processor, payout.arrival_date,
                    abs(payout.amount_minor - line.amount_minor), payout.currency, payout.payout_id,
                    line.bank_reference, expected_minor=payout.amount_minor, actual_minor=line.amount_minor,
                    bank_line_id=line.line_id,
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
                bank_line_id=line.line_id, kind=BANK_CREDIT,
            ))  # fmt: skip
    return result


def composition_findings(payouts: Iterable[Payout], items: Iterable[PayoutItem]) -> list[SettlementFinding]:
    """Payouts whose amount is not the sum of their items' nets: an itemised payout due in the bank with no
    items at all is one (its items sum to nothing); a payout the processor does not itemise is not checked."""
    nets: dict[str, int] = {}
    for item in items:
        nets[item.payout_id] = nets.get(item.payout_id, 0) + item.net_minor
    judged = [p for p in payouts if p.payout_id in nets or (p.itemised and p.expected_in_bank)]
    return [
        SettlementFinding(
            PAYOUT_COMPOSITION_MISMATCH, p.processor, p.arrival_date, abs(p.amount_minor - nets.get(p.payout_id, 0)),
            p.currency, p.payout_id, expected_minor=p.amount_minor, actual_minor=nets.get(p.payout_id, 0),
        )
        for p in judged if nets.get(p.payout_id, 0) != p.amount_minor
    ]  # fmt: skip


def negative_payouts(payouts: Iterable[Payout]) -> list[SettlementFinding]:
    """Payouts that take money from the bank account instead of bringing it (a processor recovering a negative
    balance): money leaving the account, for a person to confirm."""
    return [
        SettlementFinding(NEGATIVE_PAYOUT, p.processor, p.arrival_date, abs(p.amount_minor), p.currency, p.payout_id,
                          expected_minor=p.amount_minor)
        for p in payouts if p.amount_minor < 0 and p.expected_in_bank
    ]  # fmt: skip


def paid_out_not_booked(
    payouts: Iterable[Payout], items: Iterable[PayoutItem], unbooked: Mapping[tuple[str, str], tuple[int, str]]
) -> list[SettlementFinding]:
    """Movements a payout settled that the ledger never booked (``unbooked``: (id, kind) -> (amount,
    currency)): money received and not booked. An item settles the movement of its own kind (a Stripe dispute's
    withdrawal item, not the dispute fee it also carries)."""
    by_id = {p.payout_id: p for p in payouts}
    found = []
    for item in items:
        if (item.processor_txn_id, item.kind) in unbooked and item.payout_id in by_id:
            payout = by_id[item.payout_id]
            amount, currency = unbooked[item.processor_txn_id, item.kind]
            found.append(SettlementFinding(
                PAID_OUT_NOT_BOOKED, payout.processor, payout.arrival_date, abs(amount), currency,
                payout.payout_id, processor_txn_id=item.processor_txn_id, actual_minor=amount, kind=item.kind,
            ))  # fmt: skip
    return found


@dataclass(frozen=True)
class FeeRate:
    """A processor's fee in one currency (the currency the fee is taken in): a percent of the charge, plus
    ``cross_currency_percent`` more when the charge was presented in another currency and converted, rounded
    once half-up to the minor unit, plus a fixed part."""

    percent: Decimal = Decimal("2.9")
    fixed_minor: int = 30
    cross_currency_percent: Decimal = Decimal(0)

    def fee(self, amount_minor: int, converted: bool = False) -> int:
        """The fee on a charge of ``amount_minor`` (the settled amount when ``converted``)."""
        percent = self.percent + (self.cross_currency_percent if converted else 0)
        variable = (Decimal(abs(amount_minor)) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(variable) + self.fixed_minor


# the sandbox's schedule, every processor's in USD: 2.9 % + 30, and 1.5 % more on a converted charge
SANDBOX_FEE_RATE = FeeRate(cross_currency_percent=Decimal("1.5"))


@dataclass(frozen=True)
class FeeSchedule:
    """Fee rates per processor and currency; a processor and currency with no rate is not checked. The
    sandbox's schedule adds the default rate for every processor in ``default_currency``; a live one has no
    default (``None``): only what was configured is checked."""

    rates: Mapping[str, Mapping[str, FeeRate]] = field(default_factory=dict)
    default_currency: str | None = "USD"

    def rate(self, processor: str, currency: str) -> FeeRate | None:
        own = self.rates.get(processor, {})
        return own.get(currency) or (SANDBOX_FEE_RATE if currency == self.default_currency else None)

    def unchecked(self, charged: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Of (processor, currency) pairs charged, those the schedule has no rate for, sorted."""
        return sorted({(p, c) for p, c in charged if self.rate(p, c) is None})


@dataclass(frozen=True)
class ChargeFee:
    """A charge and the fee its processor took on it, dated as the finding would be: the amount and the fee
    in the currency the fee was taken in (the settlement currency, ``converted`` from the charge's own)."""

    processor: str
    processor_txn_id: str
    business_date: date
    amount_minor: int
    currency: str
    fee_minor: int
    converted: bool = False


def fee_variances(
    charges: Iterable[ChargeFee], schedule: FeeSchedule, tolerance_minor: int = 0
) -> list[SettlementFinding]:
    """Charges whose fee differs from the schedule by more than ``tolerance_minor``. Refunds carry no fee
    and are not passed in."""
    found = []
    for charge in charges:
        processor, txn_id, day = charge.processor, charge.processor_txn_id, charge.business_date
        amount, currency, fee = charge.amount_minor, charge.currency, charge.fee_minor
        rate = schedule.rate(processor, currency)
        if rate is None:
            continue
        expected = rate.fee(amount, charge.converted)
        if abs(fee - expected) > tolerance_minor:
            found.append(SettlementFinding(
                FEE_VARIANCE, processor, day, abs(fee - expected), currency, processor_txn_id=txn_id,
                expected_minor=expected, actual_minor=fee, kind=CHARGE,
            ))  # fmt: skip
    return found


class FeeScheduleError(ValueError):
    """A fee schedule written wrongly in configuration."""


def fee_schedule_from_json(value: Mapping, where: str, default_currency: str | None = "USD") -> FeeSchedule:
    """``{"stripe": {"USD": {"percent": "2.9", "fixed_minor": 30, "cross_currency_percent": "1.5"}}}``: rates
    per processor and the currency the fee is taken in (with the sandbox's rate in ``default_currency`` for
    the rest, unless None); ``cross_currency_percent`` (optional) is added on charges converted into it."""
    rates: dict[str, dict[str, FeeRate]] = {}
    fields = "{percent, fixed_minor, cross_currency_percent}"
    for processor, currencies in value.items():
        if not isinstance(currencies, Mapping):
            raise FeeScheduleError(f"{where}.{processor}: expected an object of currencies")
        for currency, rate in currencies.items():
            named = f"{where}.{processor}.{currency}"
            if not isinstance(rate, Mapping) or set(rate) - {"percent", "fixed_minor", "cross_currency_percent"}:
                raise FeeScheduleError(f"{named}: expected {fields}")
            try:
                percent = Decimal(str(rate.get("percent", "0")))
                cross = Decimal(str(rate.get("cross_currency_percent", "0")))
                fixed = int(rate.get("fixed_minor", 0))
            except (ArithmeticError, ValueError, TypeError):
                raise FeeScheduleError(f"{named}: {fields} must be numbers") from None
            if not (percent.is_finite() and cross.is_finite()) or min(percent, cross, fixed) < 0:
                raise FeeScheduleError(f"{named}: {fields} must be >= 0")
            rates.setdefault(processor, {})[currency.upper()] = FeeRate(percent, fixed, cross)
    return FeeSchedule(rates, default_currency)


@dataclass
class DaySettlement:
    """One arrival day's settlement: how its payouts met the bank, and its findings."""

    matches: list[PayoutMatch]
    findings: list[SettlementFinding]
    in_transit: list[str]
    # earlier days' payouts whose credit the day's lines brought, late: their "not in bank" is answered
    arrived_late: list[Payout] = field(default_factory=list)


def settle_day(
    day: date,
    payouts: Sequence[Payout],
    items: Sequence[PayoutItem],
    lines: Sequence[BankLine],
    unbooked: Mapping[tuple[str, str], tuple[int, str]],
    charge_fees: Iterable[ChargeFee],
    *,
    schedule: FeeSchedule,
    as_of: date,
    processors: Sequence[str],
    grace_business_days: int = DEFAULT_GRACE_BUSINESS_DAYS,
    fee_tolerance_minor: int = 0,
) -> DaySettlement:
    """The findings dated ``day``: its payouts' (not in the bank, a different amount, a composition that does
    not add up, money paid out but never booked) and its bank credits no payout explains, plus the fee
    variances of ``charge_fees``. ``payouts`` and ``lines`` are those of the window around the day, so that
    credits taken by earlier payouts are not offered to the day's own."""
    tied = tie_out(payouts, lines, as_of, processors, grace_business_days)
    arriving = [p for p in payouts if p.arrival_date == day]
    ids = {p.payout_id for p in arriving}
    own_items = [i for i in items if i.payout_id in ids]
    findings = [f for f in tied.findings if f.business_date == day]
    findings += composition_findings(arriving, own_items)
    findings += negative_payouts(arriving)
    findings += paid_out_not_booked(arriving, own_items, unbooked)
    findings += fee_variances(charge_fees, schedule, fee_tolerance_minor)
    booked_on = {line.line_id: line.booking_date for line in lines}
    by_id = {p.payout_id: p for p in payouts}
    late = [by_id[m.payout_id] for m in tied.matches if m.payout_id not in ids and booked_on[m.line_id] == day]
    return DaySettlement(
        matches=[m for m in tied.matches if m.payout_id in ids],
        findings=findings,
        in_transit=[p for p in tied.in_transit if p in ids],
        arrived_late=[p for p in late if day > add_business_days(p.arrival_date, grace_business_days)],
    )


def grace_span_days(grace_business_days: int = DEFAULT_GRACE_BUSINESS_DAYS) -> int:
    """The most calendar days a grace window spans (from a Friday, over the weekends it crosses). A day's
    settlement reads the lines of this many days after it, and the payouts and lines of twice as many
    before it: the payouts whose windows still reach the day, and the credits those took first."""
    return grace_business_days + 2 * ((grace_business_days + 4) // 5)


@dataclass(frozen=True)
class CashPosition:
    """One processor's cash in one currency on one day: what its payments brought in, and what was paid out.
    The currency is the one they settled in; ``presented`` gives the charges' volume in each currency they
    were presented in (converted ones included), so a converted volume shows where it came from."""

    processor: str
    currency: str
    gross_minor: int = 0  # charges that went through
    refunds_minor: int = 0  # refunds (negative)
    fees_minor: int = 0  # the processor's fees on them
    net_minor: int = 0  # gross + refunds - fees
    paid_out_minor: int = 0  # payouts arriving that day that the bank credited
    in_transit_minor: int = 0  # payouts arriving that day not yet in the bank, their window still open
    on_hold_minor: int = 0  # funds the processor held for disputes that day, net of those it released
    presented: tuple[tuple[str, int], ...] = ()  # (presentment currency, charges in its minor units), sorted


@dataclass(frozen=True)
class Activity:
    """A processor's payments of a day that went through, settled in ``currency``, presented in ``presented_in``."""

    processor: str
    currency: str
    presented_in: str
    gross_minor: int  # charges, in the settlement currency
    refunds_minor: int
    fees_minor: int
    presented_minor: int  # the charges in the presentment currency


def cash_positions(
    activity: Iterable[Activity],
    arriving: Iterable[Payout],
    matched: Iterable[str],
    in_transit: Iterable[str],
    held: Iterable[tuple[str, str, int]] = (),
) -> list[CashPosition]:
    """Per processor and settlement currency: the day's activity and its payouts, paid out (matched to a bank
    credit) or in transit, and the funds held for disputes (``held``: processor, currency, net held)."""
    positions: dict[tuple[str, str], dict] = {}
    for a in activity:
        position = positions.setdefault((a.processor, a.currency), {"presented": {}})
        net = a.gross_minor + a.refunds_minor - a.fees_minor
        for name, value in (("gross_minor", a.gross_minor), ("refunds_minor", a.refunds_minor),
                            ("fees_minor", a.fees_minor), ("net_minor", net)):  # fmt: skip
            position[name] = position.get(name, 0) + value
        position["presented"][a.presented_in] = position["presented"].get(a.presented_in, 0) + a.presented_minor
    matched, in_transit = set(matched), set(in_transit)
    for payout in arriving:
        state = "paid_out_minor" if payout.payout_id in matched else "in_transit_minor" if (
            payout.payout_id in in_transit) else None  # fmt: skip
        if state:
            position = positions.setdefault((payout.processor, payout.currency), {"presented": {}})
            position[state] = position.get(state, 0) + payout.amount_minor
    for processor, currency, amount in held:
        position = positions.setdefault((processor, currency), {"presented": {}})
        position["on_hold_minor"] = position.get("on_hold_minor", 0) + amount
    return [
        CashPosition(p, c, **{**values, "presented": tuple(sorted(values["presented"].items()))})
        for (p, c), values in sorted(positions.items())
    ]

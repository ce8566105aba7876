"""The sandbox's ground truth: a day's true money movements, each side's view, and every injected fault.

Everything is a pure function of (seed, processor, day): the same inputs give the same world on any
machine. Faults are injected only on movements well inside the day, so each one is a finding of that
day alone; movements near midnight are booked by the ledger on the neighbouring day, on purpose.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from recon_assets.domain.money import exponent

PROCESSOR_CURRENCIES = {
    "stripe": (("USD", 60), ("EUR", 20), ("GBP", 10), ("JPY", 7), ("KWD", 3)),
    "paypal": (("USD", 55), ("EUR", 25), ("GBP", 10), ("JPY", 10)),
    "square": (("USD", 70), ("CAD", 15), ("JPY", 10), ("AUD", 5)),
}
SQUARE_LOCATIONS = ("L8X4C7VZPQ2RA", "LQ9M3T6B1YK0D")
FAULT_TYPES = (
    "missing_in_ledger", "missing_at_processor", "amount_mismatch",
    "currency_mismatch", "status_mismatch", "duplicate",
)  # fmt: skip


@dataclass(frozen=True)
class SandboxConfig:
    seed: int = 7
    daily_volume: int = 300  # payments per processor per day (refunds come on top)
    refund_rate: float = 0.05
    failed_rate: float = 0.03
    pending_rate: float = 0.01
    near_midnight_rate: float = 0.02  # payments placed in the minutes around midnight
    fault_rates: tuple[tuple[str, float], ...] = (
        ("missing_in_ledger", 0.010), ("missing_at_processor", 0.005), ("amount_mismatch", 0.006),
        ("currency_mismatch", 0.003), ("status_mismatch", 0.004), ("duplicate", 0.004),
    )  # fmt: skip
    bad_currency_records: int = 0  # processor records sent with an invalid currency (quarantine tests)
    # payments of exact amounts added to each day, (currency, minor units) each: booked correctly, never faulted
    extra_payments: tuple[tuple[str, int], ...] = ()

    def with_fault_rates(self, **rates: float) -> SandboxConfig:
        merged = dict(self.fault_rates) | rates
        return replace(self, fault_rates=tuple(merged.items()))


@dataclass(frozen=True)
class Movement:
    """A processor's record of one money movement (signed minor units)."""

    txn_id: str
    kind: str  # charge | refund
    amount_minor: int
    currency: str
    status: str  # succeeded | pending | failed
    created: datetime
    fee_minor: int
    location_id: str | None = None
    parent_id: str | None = None  # the charge a refund refunds


@dataclass(frozen=True)
class Booking:
    """The ledger's entry for a movement."""

    ledger_id: str
    processor: str
    reference: str
    kind: str
    amount_minor: int
    currency: str
    status: str
    booked_at: datetime
    fee_minor: int | None


@dataclass
class World:
    processor: str
    day: date
    movements: list[Movement] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    expected: set[tuple[str, str | None, str | None]] = field(default_factory=set)


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _txn_id(rng: random.Random, processor: str, kind: str) -> str:
    if processor == "stripe":
        return ("ch_" if kind == "charge" else "re_") + "".join(rng.choices(_B62, k=24))
    if processor == "paypal":
        return "".join(rng.choices(_ALNUM, k=17))
    return "".join(rng.choices(_B62, k=22)) + ("" if kind == "charge" else "_R")


def _amount_minor(rng: random.Random, currency: str) -> int:
    major_usd = min(25_000.0, math.exp(rng.gauss(3.8, 1.2)))  # a long tail of large payments
    per_usd = {"JPY": 150, "KWD": 0.31, "EUR": 0.93, "GBP": 0.79, "CAD": 1.37, "AUD": 1.52}.get(currency, 1)
    minor = max(1, round(major_usd * per_usd * 10 ** exponent(currency)))
    if currency == "KWD":  # Stripe takes three-decimal amounts in multiples of 10
        minor = max(10, minor // 10 * 10)
    return minor


def _in_day(day: date, seconds: float) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC) + timedelta(seconds=seconds)


@functools.lru_cache(maxsize=64)
def world(config: SandboxConfig, processor: str, day: date) -> World:
    """The world of one processor's day."""
    rng = _rng(config.seed, processor, day.isoformat())
    currencies, weights = zip(*PROCESSOR_CURRENCIES[processor], strict=True)
    out = World(processor=processor, day=day)

    payments: list[Movement] = []
    for _ in range(config.daily_volume):
        roll = rng.random()
        if roll < config.near_midnight_rate / 2:
            seconds = 86_400 - rng.uniform(1, 180)  # booked by the ledger the next day
        elif roll < config.near_midnight_rate:
            seconds = rng.uniform(0, 180)  # booked by the ledger the previous day
        else:
            seconds = rng.uniform(600, 86_400 - 3_600)
        currency = rng.choices(currencies, weights)[0]
        status_roll = rng.random()
        status = (
            "failed" if status_roll < config.failed_rate
            else "pending" if status_roll < config.failed_rate + config.pending_rate
            else "succeeded"
        )  # fmt: skip
        amount = _amount_minor(rng, currency)
        payments.append(
            Movement(
                txn_id=_txn_id(rng, processor, "charge"),
                kind="charge",
                amount_minor=amount,
                currency=currency,
                status=status,
                created=_in_day(day, seconds).replace(microsecond=0),
                fee_minor=0 if status == "failed" else round(amount * 0.029) + (30 if exponent(currency) == 2 else 0),
                location_id=rng.choice(SQUARE_LOCATIONS) if processor == "square" else None,
            )
        )
    extras = set()
    for currency, amount in config.extra_payments:
        payment = Movement(
            txn_id=_txn_id(rng, processor, "charge"),
            kind="charge",
            amount_minor=amount,
            currency=currency,
            status="succeeded",
            created=_in_day(day, rng.uniform(3_600, 80_000)).replace(microsecond=0),
            fee_minor=round(amount * 0.029),
            location_id=SQUARE_LOCATIONS[0] if processor == "square" else None,
        )
        payments.append(payment)
        extras.add(payment.txn_id)
    refunds = [
        Movement(
            txn_id=_txn_id(rng, processor, "refund"),
            kind="refund",
            amount_minor=-p.amount_minor,
            currency=p.currency,
            status="succeeded",
            created=p.created + timedelta(minutes=rng.randint(1, 30)),
            fee_minor=0,
            location_id=p.location_id,
            parent_id=p.txn_id,
        )
        for p in payments
        if p.status == "succeeded" and _well_inside(p.created) and rng.random() < config.refund_rate
    ]
    out.movements = sorted(payments + refunds, key=lambda m: (m.created, m.txn_id))

    eligible = [
        i for i, m in enumerate(out.movements)
        if _well_inside(m.created) and m.status == "succeeded" and m.txn_id not in extras
    ]  # fmt: skip
    rng.shuffle(eligible)
    faults: dict[int, str] = {}
    for fault, rate in config.fault_rates:
        if fault == "missing_at_processor":
            continue
        count = round(rate * len(out.movements))
        for i in eligible[:count]:
            faults[i] = fault
        eligible = eligible[count:]

    ledger_seq = 0

    def next_ledger_id() -> str:
        nonlocal ledger_seq
        ledger_seq += 1
        return f"led_{processor[:2]}{day:%Y%m%d}{ledger_seq:06d}"

    for i, m in enumerate(out.movements):
        fault = faults.get(i)
        if m.status == "failed":
            continue  # a failed payment moved no money and is not booked
        if fault == "missing_in_ledger":
            out.expected.add(("missing_in_ledger", m.txn_id, None))
            continue
        seconds_late = rng.uniform(1, 90)
        if m.created.time() >= time(23, 57):
            seconds_late = rng.uniform(200, 400)  # lands on the next day
        elif m.created.time() < time(0, 3):
            seconds_late = -rng.uniform(200, 400)  # booked before midnight, the previous day
        booking = Booking(
            ledger_id=next_ledger_id(),
            processor=processor,
            reference=m.txn_id,
            kind=m.kind,
            amount_minor=m.amount_minor,
            currency=m.currency,
            status=m.status,
            booked_at=(m.created + timedelta(seconds=seconds_late)).replace(microsecond=0),
            fee_minor=m.fee_minor,
        )
        if fault == "amount_mismatch":
            delta = rng.choice([1, -1]) * max(1, abs(m.amount_minor) // rng.choice([100, 20, 1_000_000]))
            booking = replace(booking, amount_minor=m.amount_minor + delta)
        elif fault == "currency_mismatch":
            others = [c for c in currencies if c != m.currency and exponent(c) == exponent(m.currency)]
            booking = replace(booking, currency=(others or [c for c in currencies if c != m.currency])[0])
        elif fault == "status_mismatch":
            booking = replace(booking, status="pending")
        out.bookings.append(booking)
        if fault == "duplicate":
            copy = replace(booking, ledger_id=next_ledger_id(), booked_at=booking.booked_at + timedelta(minutes=7))
            out.bookings.append(copy)
            out.expected.add(("duplicate", m.txn_id, copy.ledger_id))
        elif fault:
            out.expected.add((fault, m.txn_id, booking.ledger_id))

    phantoms = round(dict(config.fault_rates).get("missing_at_processor", 0) * len(out.movements))
    for _ in range(phantoms):
        currency = rng.choices(currencies, weights)[0]
        booking = Booking(
            ledger_id=next_ledger_id(),
            processor=processor,
            reference=_txn_id(rng, processor, "charge"),
            kind="charge",
            amount_minor=_amount_minor(rng, currency),
            currency=currency,
            status="succeeded",
            booked_at=_in_day(day, rng.uniform(3_600, 80_000)).replace(microsecond=0),
            fee_minor=None,
        )
        out.bookings.append(booking)
        out.expected.add(("missing_at_processor", booking.reference, booking.ledger_id))
    return out


def _well_inside(moment: datetime) -> bool:
    return time(0, 10) <= moment.time() <= time(23, 0)


def processor_movements(config: SandboxConfig, processor: str, day: date) -> list[Movement]:
    return world(config, processor, day).movements


@functools.lru_cache(maxsize=64)
def ledger_bookings(config: SandboxConfig, processor: str, day: date) -> list[Booking]:
    """The ledger's entries booked on ``day``: the day's own and the neighbours' cross-midnight ones."""
    entries = [
        b
        for offset in (-1, 0, 1)
        for b in world(config, processor, day + timedelta(days=offset)).bookings
        if b.booked_at.date() == day
    ]
    return sorted(entries, key=lambda b: (b.booked_at, b.ledger_id))


def expected_findings(config: SandboxConfig, processor: str, day: date) -> set[tuple[str, str | None, str | None]]:
    """Ground truth: (discrepancy_type, processor_txn_id, ledger_id) of every fault injected on ``day``."""
    return set(world(config, processor, day).expected)

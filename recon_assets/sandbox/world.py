"""The sandbox's ground truth: a day's true money movements, each side's view, and every injected fault.

Everything is a pure function of (seed, processor, day): the same inputs give the same world on any
machine. Faults are injected only on movements well inside the day, so each one is a finding of that
day alone; movements near midnight are booked by the ledger on the neighbouring day, on purpose.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from recon_assets.domain.money import exponent
from recon_assets.domain.rules import SUGGESTION_CANDIDATE_CAP
from recon_assets.sandbox.disputes import NO_DISPUTES, DisputeDay, dispute_day

PROCESSOR_CURRENCIES = {
    "stripe": (("USD", 60), ("EUR", 20), ("GBP", 10), ("JPY", 7), ("KWD", 3)),
    "paypal": (("USD", 55), ("EUR", 25), ("GBP", 10), ("JPY", 10)),
    "square": (("USD", 70), ("CAD", 15), ("JPY", 10), ("AUD", 5)),
}
SQUARE_LOCATIONS = ("L8X4C7VZPQ2RA", "LQ9M3T6B1YK0D")
# Matching beyond one-to-one, each planted on records of its own, well inside the day:
# - split_tender: an order paid with 2-3 charges, booked once for its total (a match);
# - split_tender_off: the same, booked for a different total (one group_amount_mismatch, keyed by the entry);
# - split_booking: a charge booked as 2-3 lines (revenue, tax, tip) that sum to it (a match);
# - split_booking_off: lines that do not sum to the charge (one group_amount_mismatch, keyed by the charge);
# - suggested_group: 2-3 charges never booked, and an entry naming none of them for their sum (each charge
#   missing in the ledger, the entry missing at the processor, and a suggested_match for the entry).
CASE_KINDS = ("split_tender", "split_tender_off", "split_booking", "split_booking_off", "suggested_group")
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
    processors: tuple[str, ...] = tuple(PROCESSOR_CURRENCIES)  # the processors that trade (the ledger books theirs)
    # matching beyond one-to-one, planted per processor and day (CASE_KINDS): each kind this many times
    cases_per_kind: int = 1
    # the cash side (sandbox/settlement.py): a fee a cent off per processor day, and per arrival day a payout
    # each with the bank's fee deducted, items that do not add up, missing, late and failed, and a repeated line
    settlement_faults: bool = True
    # presentment currencies the Stripe account converts and settles in USD, its default currency (a charge in
    # EUR reaches the balance, the payout and the bank in USD, at the day's rate); the rest settle in themselves
    stripe_converts: tuple[str, ...] = ()
    # the disputes planted per processor day (sandbox/disputes.py): movements booked right and wrong
    disputes: bool = True
    dispute_rate: float = 0.0  # more disputes, lost and booked right, as a share of the day's payments (volume)

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
    order_id: str | None = None  # the merchant's order (several charges of a split tender share one)


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
    order_reference: str | None = None
    original_reference: str | None = None  # for a dispute's movement: the disputed payment


@dataclass
class Table:
    """Equal-length numpy columns, one row per record."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def take(self, rows) -> Table:
        return Table({name: column[rows] for name, column in self.columns.items()})


@dataclass
class World:
    """One processor's day: its movements (sorted by creation) and the ledger's bookings of them, as
    columns, and the findings the faults planted in it must produce."""

    processor: str
    day: date
    movements: Table
    bookings: Table
    expected: set[tuple[str, str | None, str | None]] = field(default_factory=set)
    fee_variances: tuple[str, ...] = ()  # charges whose fee is a cent off the schedule
    disputes: DisputeDay = NO_DISPUTES  # the money the day's disputes moved, booked and planted


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _random_text(rng: np.random.Generator, alphabet: np.ndarray, count: int, length: int) -> np.ndarray:
    letters = alphabet[rng.integers(0, len(alphabet), size=(count, length))]
    return np.ascontiguousarray(letters).view(f"S{length}").ravel().astype(str).astype(object)


def _txn_ids(rng: np.random.Generator, processor: str, kind: str, count: int) -> np.ndarray:
    if processor == "stripe":
        return ("ch_" if kind == "charge" else "re_") + _random_text(rng, _B62, count, 24)
    if processor == "paypal":
        return _random_text(rng, _ALNUM, count, 17)
    return _random_text(rng, _B62, count, 22) + ("" if kind == "charge" else "_R")


_PER_USD = {"JPY": 150, "KWD": 0.31, "EUR": 0.93, "GBP": 0.79, "CAD": 1.37, "AUD": 1.52}


def account_config(seed: int, daily_volume: int, stripe_converts: str = "") -> SandboxConfig:
    """The sandbox's settings as the resources carry them; ``stripe_converts`` is a comma-separated list
    (``RECON_SANDBOX_STRIPE_CONVERTS``)."""
    converts = tuple(sorted({c.strip().upper() for c in stripe_converts.split(",") if c.strip()}))
    return SandboxConfig(seed=seed, daily_volume=daily_volume, stripe_converts=converts)


def usd_rate(config: SandboxConfig, currency: str, day: date) -> Decimal:
    """The day's rate from ``currency`` to USD (USD per unit), as a processor converting would apply it: the
    currency's usual rate moved by up to half a percent, to six decimals."""
    drift = Decimal(int(_rng(config.seed, "fx", currency, day.isoformat()).integers(-500, 501))) / 100_000
    return (Decimal(1) / Decimal(str(_PER_USD[currency])) * (1 + drift)).quantize(Decimal("0.000001"))


def _per_currency(currencies: np.ndarray, value) -> np.ndarray:
    """``value(currency)`` for each row, computed once per distinct currency."""
    codes, rows = np.unique(currencies.astype(str), return_inverse=True)
    return np.array([value(c) for c in codes], dtype=float)[rows]


def _amounts_minor(rng: np.random.Generator, currencies: np.ndarray) -> np.ndarray:
    major_usd = np.minimum(25_000.0, np.exp(rng.normal(3.8, 1.2, len(currencies))))  # a long tail of large payments
    per_usd = _per_currency(currencies, lambda c: _PER_USD.get(c, 1))
    scale = _per_currency(currencies, lambda c: 10 ** exponent(c))
    minor = np.maximum(1, np.rint(major_usd * per_usd * scale)).astype(np.int64)
    kwd = currencies == "KWD"  # Stripe takes three-decimal amounts in multiples of 10
    minor[kwd] = np.maximum(10, minor[kwd] // 10 * 10)
    return minor


def _fees(amounts: np.ndarray, currencies: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """The processors' fee: 2.9 % rounded half-up to the minor unit, + 30 minor units where there are cents
    (in USD exactly the default fee schedule, so only a planted variance is one)."""
    fixed = _per_currency(currencies, lambda c: 30 if exponent(c) == 2 else 0).astype(np.int64)
    return np.where(failed, 0, (np.abs(amounts) * 29 + 500) // 1000 + fixed)


WELL_INSIDE = (600, 23 * 3600)  # seconds of the day between which a fault is never near midnight
LATE, EARLY = 23 * 3600 + 57 * 60, 3 * 60  # from/until: booked by the ledger on the neighbouring day


def _moments(day: date, seconds) -> list[datetime]:
    """Seconds since the day's start (UTC) as moments."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return [start + timedelta(seconds=int(s)) for s in seconds]


@functools.lru_cache(maxsize=16)
def world(config: SandboxConfig, processor: str, day: date) -> World:
    """The world of one processor's day, generated with numpy: a million movements take seconds."""
    rng = _rng(config.seed, processor, day.isoformat())
    codes, weights = zip(*PROCESSOR_CURRENCIES[processor], strict=True)
    codes = np.array(codes, dtype=object)
    n = config.daily_volume

    roll = rng.random(n)
    half = config.near_midnight_rate / 2
    seconds = np.where(
        roll < half, 86_400 - rng.uniform(1, 180, n),  # booked by the ledger the next day
        np.where(roll < config.near_midnight_rate, rng.uniform(0, 180, n),  # booked the previous day
                 rng.uniform(600, 86_400 - 3_600, n)),
    ).astype(np.int64)  # fmt: skip
    currencies = codes[rng.choice(len(codes), n, p=np.array(weights) / sum(weights))]
    status_roll = rng.random(n)
    statuses = np.where(status_roll < config.failed_rate, "failed",
                        np.where(status_roll < config.failed_rate + config.pending_rate, "pending", "succeeded")
                        ).astype(object)  # fmt: skip
    amounts = _amounts_minor(rng, currencies)
    locations = (np.array(SQUARE_LOCATIONS, dtype=object)[rng.integers(0, 2, n)] if processor == "square"
                 else np.full(n, None, dtype=object))  # fmt: skip
    payments = Table({
        "txn_id": _txn_ids(rng, processor, "charge", n), "kind": np.full(n, "charge", dtype=object),
        "amount_minor": amounts, "currency": currencies, "status": statuses, "seconds": seconds,
        "fee_minor": _fees(amounts, currencies, statuses == "failed"), "location_id": locations,
        "parent_id": np.full(n, None, dtype=object), "extra": np.zeros(n, dtype=bool),
        **_no_case(n),
    })  # fmt: skip
    if config.extra_payments:
        extra_currencies = np.array([c for c, _ in config.extra_payments], dtype=object)
        extra_amounts = np.array([a for _, a in config.extra_payments], dtype=np.int64)
        k = len(extra_amounts)
        extras = Table({
            "txn_id": _txn_ids(rng, processor, "charge", k), "kind": np.full(k, "charge", dtype=object),
            "amount_minor": extra_amounts, "currency": extra_currencies,
            "status": np.full(k, "succeeded", dtype=object),
            "seconds": rng.uniform(3_600, 80_000, k).astype(np.int64),
            "fee_minor": _fees(extra_amounts, extra_currencies, np.zeros(k, dtype=bool)),
            "location_id": np.full(k, SQUARE_LOCATIONS[0] if processor == "square" else None, dtype=object),
            "parent_id": np.full(k, None, dtype=object), "extra": np.ones(k, dtype=bool), **_no_case(k),
        })  # fmt: skip
        payments = _concat(payments, extras)
    if config.cases_per_kind:
        payments = _concat(payments, _case_payments(config, rng, processor, codes, np.array(weights)))

    inside = (payments["seconds"] >= WELL_INSIDE[0]) & (payments["seconds"] <= WELL_INSIDE[1])
    refunded = (
        (payments["status"] == "succeeded") & inside & (payments["case"] == "")
        & (rng.random(len(payments)) < config.refund_rate)
    )  # fmt: skip
    parents = payments.take(np.flatnonzero(refunded))
    r = len(parents)
    refunds = Table({
        "txn_id": _txn_ids(rng, processor, "refund", r), "kind": np.full(r, "refund", dtype=object),
        "amount_minor": -parents["amount_minor"], "currency": parents["currency"],
        "status": np.full(r, "succeeded", dtype=object),
        "seconds": parents["seconds"] + 60 * rng.integers(1, 31, r),
        "fee_minor": np.zeros(r, dtype=np.int64), "location_id": parents["location_id"],
        "parent_id": parents["txn_id"], "extra": np.zeros(r, dtype=bool), **_no_case(r),
    })  # fmt: skip
    both = _concat(payments, refunds)
    movements = both.take(np.lexsort((both["txn_id"].astype(str), both["seconds"])))

    faults = _plant_faults(config, rng, movements)
    fee_variances = _plant_fee_variance(config, processor, day, movements, faults)
    bookings, expected = _book(config, rng, processor, day, movements, faults, codes, np.array(weights))
    disputes = disputes_of(config, processor, day)
    if disputes.bookings:
        bookings = _concat(bookings, _dispute_bookings(disputes))
    return World(processor=processor, day=day, movements=movements, bookings=bookings,
                 expected=expected | disputes.expected, fee_variances=fee_variances, disputes=disputes)  # fmt: skip


# Square lists every dispute of the account, with no date filter: the sandbox's account opened on this day, and
# lists those of the days since, up to today (UTC); a day outside has no Square disputes.
SQUARE_ACCOUNT_OPENED = date(2026, 1, 1)


def square_dispute_days() -> list[date]:
    """The days whose Square disputes the sandbox's account lists: from its opening to today."""
    today = datetime.now(UTC).date()
    return [SQUARE_ACCOUNT_OPENED + timedelta(days=i) for i in range((today - SQUARE_ACCOUNT_OPENED).days + 1)]


@functools.lru_cache(maxsize=1024)
def disputes_of(config: SandboxConfig, processor: str, day: date) -> DisputeDay:
    """The disputes planted for the processor's day, drawn apart from its payments (the account's whole list of
    disputes is made without making each day's payments)."""
    listed = processor != "square" or SQUARE_ACCOUNT_OPENED <= day <= datetime.now(UTC).date()
    if not config.disputes or not listed:
        return NO_DISPUTES
    planted = _rng(config.seed, processor, day.isoformat(), "disputes")
    lost = round(config.dispute_rate * config.daily_volume)
    return dispute_day(planted, lambda k: _txn_ids(planted, processor, "charge", k), processor, day, lost)


def _dispute_bookings(disputes: DisputeDay) -> Table:
    ids, references, kinds, amounts, currencies, seconds, originals = (
        zip(*disputes.bookings, strict=True) if disputes.bookings else [()] * 7
    )
    count = len(ids)
    return Table({
        "ledger_id": np.array(ids, dtype=object), "reference": np.array(references, dtype=object),
        "kind": np.array(kinds, dtype=object), "amount_minor": np.array(amounts, dtype=np.int64),
        "currency": np.array(currencies, dtype=object), "status": np.full(count, "succeeded", dtype=object),
        "seconds": np.array(seconds, dtype=np.int64), "fee_minor": np.full(count, None, dtype=object),
        "order_reference": np.full(count, None, dtype=object), "original_reference": np.array(originals, dtype=object),
    })  # fmt: skip


def _plant_fee_variance(config: SandboxConfig, processor: str, day: date, movements: Table, faults) -> tuple[str, ...]:
    """One succeeded USD charge, otherwise faultless, whose fee the processor takes a cent too high (the
    ledger books the fee charged). Returns its id (none when settlement faults are off or none fits)."""
    seconds = movements["seconds"]
    fits = np.flatnonzero(
        (movements["kind"] == "charge") & (movements["status"] == "succeeded") & (movements["currency"] == "USD")
        & (faults == "") & (movements["case"] == "") & ~movements["extra"]
        & (seconds >= WELL_INSIDE[0]) & (seconds <= WELL_INSIDE[1])
    )  # fmt: skip
    if not config.settlement_faults or not len(fits):
        return ()
    row = fits[_rng(config.seed, processor, day.isoformat(), "fee").integers(0, len(fits))]
    movements["fee_minor"][row] += 1
    return (str(movements["txn_id"][row]),)


def _concat(*tables: Table) -> Table:
    return Table({name: np.concatenate([t[name] for t in tables]) for name in tables[0].columns})


def _no_case(count: int) -> dict[str, np.ndarray]:
    """The case columns of movements that belong to no planted case."""
    return {"order_id": np.full(count, None, dtype=object), "case": np.full(count, "", dtype=object),
            "case_no": np.full(count, -1, dtype=np.int64)}  # fmt: skip


def _case_payments(config: SandboxConfig, rng: np.random.Generator, processor: str, codes, weights) -> Table:
    """The charges of the planted cases (CASE_KINDS), ``case_no`` telling which belong together."""
    parts = []
    for number, kind in enumerate(k for k in CASE_KINDS for _ in range(config.cases_per_kind)):
        size = 1 if kind.startswith("split_booking") else int(rng.integers(2, 4))
        currency = codes[rng.choice(len(codes), p=weights / weights.sum())]
        amounts = _amounts_minor(rng, np.full(size, currency, dtype=object))
        if kind.startswith("split_booking"):  # large enough to book as three distinct positive lines
            amounts = np.maximum(amounts, 1_000 * (10 if currency == "KWD" else 1))
        seconds = int(rng.uniform(3_600, 78_000)) + 60 * np.arange(size)
        order = f"ord_{_random_text(rng, _B62, 1, 16)[0]}" if kind.startswith("split_tender") else None
        parts.append(Table({
            "txn_id": _txn_ids(rng, processor, "charge", size), "kind": np.full(size, "charge", dtype=object),
            "amount_minor": amounts, "currency": np.full(size, currency, dtype=object),
            "status": np.full(size, "succeeded", dtype=object), "seconds": seconds.astype(np.int64),
            "fee_minor": _fees(amounts, np.full(size, currency, dtype=object), np.zeros(size, dtype=bool)),
            "location_id": np.full(size, SQUARE_LOCATIONS[0] if processor == "square" else None, dtype=object),
            "parent_id": np.full(size, None, dtype=object), "extra": np.ones(size, dtype=bool),
            "order_id": np.full(size, order, dtype=object), "case": np.full(size, kind, dtype=object),
            "case_no": np.full(size, number, dtype=np.int64),
        }))  # fmt: skip
    return _concat(*parts)


def _case_bookings(rng, movements: Table, faults: np.ndarray, prefix: str, first_id: int):
    """The ledger's entries for the planted cases, numbered from ``first_id``, and the findings they make."""
    entries, expected = [], set()
    case_no = movements["case_no"]

    def book(reference, amount, currency, at, fee, order) -> str:
        ledger_id = f"{prefix}{first_id + len(entries):06d}"
        entries.append((ledger_id, reference, amount, currency, at, fee, order))
        return ledger_id

    for number in np.unique(case_no[case_no >= 0]):
        rows = np.flatnonzero(case_no == number)
        kind, currency = movements["case"][rows[0]], movements["currency"][rows[0]]
        total = int(movements["amount_minor"][rows].sum())
        step = 10 if currency == "KWD" else 1
        off = max(step, total // 50 // step * step)  # a difference no zero tolerance accepts
        at = int(movements["seconds"][rows[-1]]) + 90
        if kind.startswith("split_tender"):
            order = movements["order_id"][rows[0]]
            ledger_id = book(order, total + (off if kind == "split_tender_off" else 0), currency, at, None, order)
            if kind == "split_tender_off":
                expected.add(("group_amount_mismatch", None, ledger_id))
        elif kind.startswith("split_booking"):  # revenue, tax and tip lines of one charge
            txn, fee = movements["txn_id"][rows[0]], int(movements["fee_minor"][rows[0]])
            tax, tip = total // 10 // step * step, total // 20 // step * step
            lines = [total - tax - tip, tax, tip + (off if kind == "split_booking_off" else 0)]
            for i, amount in enumerate(lines):
                book(txn, amount, currency, at + i, fee if i == 0 else None, None)
            if kind == "split_booking_off":
                expected.add(("group_amount_mismatch", txn, None))
        else:  # an entry for the charges' sum that names none of them
            reference = f"inv_{_random_text(rng, _ALNUM, 1, 12)[0]}"
            ledger_id = book(reference, total, currency, at, None, None)
            expected.add(("missing_at_processor", reference, ledger_id))
            expected |= {("missing_in_ledger", txn, None) for txn in movements["txn_id"][rows]}
            if _suggestion_searched(movements, faults, rows):
                expected.add(("suggested_match", None, ledger_id))
    ids, references, amounts, currencies, seconds, fees, orders = zip(*entries, strict=True) if entries else [()] * 7
    return Table({
        "ledger_id": np.array(ids, dtype=object), "reference": np.array(references, dtype=object),
        "kind": np.full(len(ids), "charge", dtype=object), "amount_minor": np.array(amounts, dtype=np.int64),
        "currency": np.array(currencies, dtype=object), "status": np.full(len(ids), "succeeded", dtype=object),
        "seconds": np.array(seconds, dtype=np.int64), "fee_minor": np.array(fees, dtype=object),
        "order_reference": np.array(orders, dtype=object), "original_reference": np.full(len(ids), None, dtype=object),
    }), expected  # fmt: skip


def _suggestion_searched(movements: Table, faults: np.ndarray, members: np.ndarray) -> bool:
    """Whether the day's charges missing in the ledger in the members' currency are few enough to be searched."""
    currency = movements["currency"][members[0]]
    unbooked = (faults == "missing_in_ledger") | (movements["case"] == "suggested_group")
    same = unbooked & (movements["currency"] == currency) & (movements["amount_minor"] > 0)
    return int(np.count_nonzero(same)) <= SUGGESTION_CANDIDATE_CAP


def _plant_faults(config: SandboxConfig, rng: np.random.Generator, movements: Table) -> np.ndarray:
    """The fault planted on each movement ("" for none): only on succeeded movements well inside the day."""
    seconds = movements["seconds"]
    eligible = np.flatnonzero(
        (seconds >= WELL_INSIDE[0]) & (seconds <= WELL_INSIDE[1])
        & (movements["status"] == "succeeded") & ~movements["extra"]
    )  # fmt: skip
    eligible = eligible[rng.permutation(len(eligible))]
    faults = np.full(len(movements), "", dtype=object)
    taken = 0
    for fault, rate in config.fault_rates:
        if fault == "missing_at_processor":
            continue  # a booking with no movement at all: made by _book
        count = round(rate * len(movements))
        faults[eligible[taken : taken + count]] = fault
        taken += count
    return faults


def _book(config, rng, processor, day, movements: Table, faults: np.ndarray, codes, weights):
    """The ledger's bookings of the movements (with the planted faults), and the findings they must produce."""
    n = len(movements)
    seconds = movements["seconds"]
    booked = (movements["status"] != "failed") & (faults != "missing_in_ledger") & (movements["case"] == "")
    late = np.where(seconds >= LATE, rng.uniform(200, 400, n),  # lands on the next day
                    np.where(seconds < EARLY, -rng.uniform(200, 400, n),  # booked before midnight
                             rng.uniform(1, 90, n)))  # fmt: skip
    booked_seconds = (seconds + late).astype(np.int64)
    rows = np.flatnonzero(booked)
    duplicate = faults[rows] == "duplicate"
    # ids in movement order; a duplicate's copy takes the id right after its original
    sequence = np.cumsum(1 + duplicate) - duplicate
    prefix = f"led_{processor[:2]}{day:%Y%m%d}"
    amounts = movements["amount_minor"][rows].copy()
    currencies = movements["currency"][rows].copy()
    statuses = movements["status"][rows].copy()
    mismatch = faults[rows] == "amount_mismatch"
    if mismatch.any():
        divisor = np.array([100, 20, 1_000_000])[rng.integers(0, 3, mismatch.sum())]
        sign = np.where(rng.random(mismatch.sum()) < 0.5, 1, -1)
        amounts[mismatch] += sign * np.maximum(1, np.abs(amounts[mismatch]) // divisor)
    for i in np.flatnonzero(faults[rows] == "currency_mismatch"):
        same = [c for c in codes if c != currencies[i] and exponent(c) == exponent(currencies[i])]
        currencies[i] = (same or [c for c in codes if c != currencies[i]])[0]
    statuses[faults[rows] == "status_mismatch"] = "pending"
    originals = Table({
        "ledger_id": np.array([f"{prefix}{s:06d}" for s in sequence], dtype=object),
        "reference": movements["txn_id"][rows], "kind": movements["kind"][rows], "amount_minor": amounts,
        "currency": currencies, "status": statuses, "seconds": booked_seconds[rows],
        "fee_minor": movements["fee_minor"][rows],
    })  # fmt: skip
    copies = originals.take(np.flatnonzero(duplicate))
    copies.columns["ledger_id"] = np.array([f"{prefix}{s + 1:06d}" for s in sequence[duplicate]], dtype=object)
    copies.columns["seconds"] = copies["seconds"] + 7 * 60
    phantom_count = round(dict(config.fault_rates).get("missing_at_processor", 0) * n)
    phantom_currencies = codes[rng.choice(len(codes), phantom_count, p=weights / weights.sum())]
    last = int(sequence[-1] + duplicate[-1]) if len(sequence) else 0  # the last id given so far
    phantoms = Table({
        "ledger_id": np.array([f"{prefix}{last + i + 1:06d}" for i in range(phantom_count)], dtype=object),
        "reference": _txn_ids(rng, processor, "charge", phantom_count),
        "kind": np.full(phantom_count, "charge", dtype=object),
        "amount_minor": _amounts_minor(rng, phantom_currencies), "currency": phantom_currencies,
        "status": np.full(phantom_count, "succeeded", dtype=object),
        "seconds": rng.uniform(3_600, 80_000, phantom_count).astype(np.int64),
        "fee_minor": np.full(phantom_count, None, dtype=object),
    })  # fmt: skip
    originals.columns["fee_minor"] = originals["fee_minor"].astype(object)
    copies.columns["fee_minor"] = copies["fee_minor"].astype(object)
    for table in (originals, copies, phantoms):
        table.columns["order_reference"] = np.full(len(table), None, dtype=object)
        table.columns["original_reference"] = np.full(len(table), None, dtype=object)
    cases, case_expected = _case_bookings(rng, movements, faults, prefix, last + phantom_count + 1)
    bookings = _concat(originals, copies, phantoms, cases)

    expected = {("missing_in_ledger", txn, None) for txn in movements["txn_id"][faults == "missing_in_ledger"]}
    mismatched = np.isin(faults[rows], ("amount_mismatch", "currency_mismatch", "status_mismatch"))
    expected |= set(zip(faults[rows][mismatched], originals["reference"][mismatched],
                        originals["ledger_id"][mismatched], strict=True))  # fmt: skip
    expected |= {("duplicate", ref, lid) for ref, lid in zip(copies["reference"], copies["ledger_id"], strict=True)}
    expected |= {("missing_at_processor", ref, lid) for ref, lid in zip(phantoms["reference"], phantoms["ledger_id"],
                                                                          strict=True)}  # fmt: skip
    return bookings, expected | case_expected


@functools.lru_cache(maxsize=8)
def processor_movements(config: SandboxConfig, processor: str, day: date) -> list[Movement]:
    """The day's movements as the processor records them, oldest first."""
    m = world(config, processor, day).movements
    return [
        Movement(txn_id, kind, int(amount), currency, status, created, int(fee), location, parent, order)
        for txn_id, kind, amount, currency, status, created, fee, location, parent, order in zip(
            m["txn_id"], m["kind"], m["amount_minor"].tolist(), m["currency"], m["status"],
            _moments(day, m["seconds"].tolist()), m["fee_minor"].tolist(), m["location_id"], m["parent_id"],
            m["order_id"], strict=True,
        )
    ]  # fmt: skip


def processor_records(config: SandboxConfig, processor: str, day: date) -> dict[tuple[str, str], int]:
    """What recon lands of the processor's day, (id, kind) -> amount: its movements and the money its disputes
    moved (not their holds)."""
    records = {(m.txn_id, m.kind): m.amount_minor for m in processor_movements(config, processor, day)}
    return records | {(d.txn_id, d.kind): d.amount_minor for d in world(config, processor, day).disputes.movements
                      if d.is_transaction}  # fmt: skip


@functools.lru_cache(maxsize=8)
def ledger_bookings(config: SandboxConfig, processor: str, day: date) -> list[Booking]:
    """The ledger's entries booked on ``day``: the day's own and the neighbours' cross-midnight ones."""
    entries = []
    for offset in (-1, 0, 1):
        b = world(config, processor, day + timedelta(days=offset)).bookings
        seconds = b["seconds"] + offset * 86_400  # from the start of ``day``
        rows = b.take(np.flatnonzero((seconds >= 0) & (seconds < 86_400)))
        entries += [
            Booking(ledger_id, processor, reference, kind, int(amount), currency, status, booked_at,
                    None if fee is None else int(fee), order, original)
            for ledger_id, reference, kind, amount, currency, status, booked_at, fee, order, original in zip(
                rows["ledger_id"], rows["reference"], rows["kind"], rows["amount_minor"].tolist(), rows["currency"],
                rows["status"], _moments(day, (rows["seconds"] + offset * 86_400).tolist()), rows["fee_minor"],
                rows["order_reference"], rows["original_reference"], strict=True,
            )
        ]  # fmt: skip
    return sorted(entries, key=lambda b: (b.booked_at, b.ledger_id))


def expected_findings(config: SandboxConfig, processor: str, day: date) -> set[tuple[str, str | None, str | None]]:
    """Ground truth: (discrepancy_type, processor_txn_id, ledger_id) of every fault injected on ``day``."""
    return set(world(config, processor, day).expected)

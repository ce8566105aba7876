"""The sandbox's disputes (issue 28): the money a dispute moves after the sale, per processor day, the
ledger's bookings of it (right, or with a planted fault) and the findings the faults must produce.

PayPal, each day, in USD, every movement well inside the day and about a payment sold weeks before:
- a dispute lost: the chargeback (``T1201``) and its fee (``T0106``), both booked;
- a dispute won: the funds returned (``T1202``), booked;
- a partial dispute: a chargeback of part of the payment, booked at that part;
- a reversal PayPal initiated (``T1106``), booked as a chargeback;
- a hold for a dispute (``T1110``) and its release (``T1111``): the balance's, never booked, never a finding;
- faults: a chargeback, a return and a fee never booked (``missing_in_ledger`` each); a chargeback booked on
  an inquiry, where no money moved (``missing_at_processor``); a chargeback booked twice (``duplicate``); a
  partial chargeback booked at the payment's whole amount (``amount_mismatch``).

Each case belongs to a dispute the Disputes API lists, updated on the day: resolved (lost, won, a hold
released, a return), under review, or waiting for the merchant's response, due in 1, 2 or 10 days (the
inquiry that moved no money is one of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from recon_assets.domain.records import MONEY_OUT
from recon_assets.domain.settlement import HOLD, HOLD_RELEASE  # a dispute's hold on the balance: not a transaction

DISPUTE_PROCESSORS = ("paypal",)  # the processors whose sandbox disputes payments
PAYPAL_CHARGEBACK_FEE_MINOR = 2_000  # USD 20.00
DISPUTE_ID_PREFIX = "PP-D-"  # then the day it was updated on, so the sandbox finds it by id
# the movement each planted case makes, its PayPal event code, how the ledger books it, and its dispute
_CASES = (
    # case,                  kind,                  code,    booked,     dispute
    ("lost", "chargeback", "T1201", "right", "lost"),
    ("lost_fee", "dispute_fee", "T0106", "right", "lost"),
    ("won", "chargeback_reversal", "T1202", "right", "won"),
    ("partial", "chargeback", "T1201", "right", "partial"),
    ("reversal", "chargeback", "T1106", "right", "reversal"),
    ("hold", HOLD, "T1110", "never", "held"),
    ("hold_release", HOLD_RELEASE, "T1111", "never", "held"),
    ("unbooked", "chargeback", "T1201", "unbooked", "unbooked"),
    ("unbooked_fee", "dispute_fee", "T0106", "unbooked", "unbooked"),
    ("unbooked_return", "chargeback_reversal", "T1202", "unbooked", "returned"),
    ("booked_twice", "chargeback", "T1201", "twice", "booked_twice"),
    ("partial_booked_whole", "chargeback", "T1201", "whole", "due_tomorrow"),
)
# each dispute's status on the day (PayPal's), its life-cycle stage, the days its response is due in, and
# PayPal's outcome code once resolved
_DISPUTES = {
    "lost": ("RESOLVED", "CHARGEBACK", None, "RESOLVED_BUYER_FAVOUR"),
    "won": ("RESOLVED", "CHARGEBACK", None, "RESOLVED_SELLER_FAVOUR"),
    "partial": ("UNDER_REVIEW", "CHARGEBACK", None, None),
    "reversal": ("UNDER_REVIEW", "CHARGEBACK", None, None),
    "held": ("RESOLVED", "INQUIRY", None, "RESOLVED_SELLER_FAVOUR"),
    "unbooked": ("WAITING_FOR_SELLER_RESPONSE", "CHARGEBACK", 10, None),
    "returned": ("RESOLVED", "CHARGEBACK", None, "RESOLVED_SELLER_FAVOUR"),
    "booked_twice": ("UNDER_REVIEW", "CHARGEBACK", None, None),
    "due_tomorrow": ("WAITING_FOR_SELLER_RESPONSE", "CHARGEBACK", 1, None),
    "inquiry": ("WAITING_FOR_SELLER_RESPONSE", "INQUIRY", 2, None),  # moved no money; the ledger booked it anyway
}
_REASONS = ("MERCHANDISE_OR_SERVICE_NOT_RECEIVED", "UNAUTHORISED", "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED")


@dataclass(frozen=True)
class DisputeMovement:
    """Money a dispute moved at the processor (signed minor units), about the payment ``original_id``."""

    txn_id: str
    kind: str  # chargeback | chargeback_reversal | dispute_fee | hold | hold_release
    amount_minor: int
    currency: str
    created: datetime
    original_id: str
    event_code: str  # PayPal's transaction event code

    @property
    def is_transaction(self) -> bool:
        """Whether recon reconciles it as a transaction (a hold and its release are the balance's)."""
        return self.kind not in (HOLD, HOLD_RELEASE)


@dataclass(frozen=True)
class SandboxDispute:
    """A dispute as the processor lists it, updated on the day."""

    dispute_id: str
    payment_id: str
    amount_minor: int  # what the customer disputed: the payment or part of it
    currency: str
    reason: str
    status: str
    stage: str
    created: datetime
    updated: datetime
    due_by: datetime | None
    outcome_code: str | None  # PayPal's, once resolved


@dataclass(frozen=True)
class DisputeDay:
    movements: tuple[DisputeMovement, ...]
    disputes: tuple[SandboxDispute, ...]
    bookings: list[tuple]  # (ledger_id, reference, kind, amount_minor, currency, seconds, original_reference)
    expected: set[tuple[str, str | None, str | None]]  # (type, processor id, ledger id)
    kinds: dict[str, str]  # the kind of each finding's movement, by the id the finding names


NO_DISPUTES = DisputeDay((), (), [], set(), {})


def dispute_day(rng: np.random.Generator, new_ids, processor: str, day: date) -> DisputeDay:
    """The planted disputes of one processor's day; ``new_ids(count)`` gives the processor's ids of payments."""
    if processor not in DISPUTE_PROCESSORS:
        return NO_DISPUTES
    ids = new_ids(len(_CASES) + 1)  # the movements' ids, and the reference of the inquiry booked
    names = list(dict.fromkeys([*(case[4] for case in _CASES), "inquiry"]))
    originals = dict(zip(names, new_ids(len(names)), strict=True))  # each dispute's disputed payment
    sold = dict(zip(names, (int(a) for a in rng.integers(2_000, 50_000, len(names))), strict=True))  # cents
    seconds = np.sort(rng.integers(3_600, 80_000, len(_CASES) + 1))
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    prefix = f"led_{processor[:2]}{day:%Y%m%d}D"
    movements, bookings, expected, kinds, disputed = [], [], set(), {}, {}

    def book(reference: str, kind: str, amount_minor: int, at: int, original: str) -> str:
        ledger_id = f"{prefix}{len(bookings) + 1:03d}"
        bookings.append((ledger_id, reference, kind, amount_minor, "USD", at, original))
        return ledger_id

    for i, (_, kind, code, booked, dispute) in enumerate(_CASES):
        if kind == "dispute_fee":
            amount = PAYPAL_CHARGEBACK_FEE_MINOR
        elif dispute in ("partial", "due_tomorrow"):
            amount = sold[dispute] // 2
        else:
            amount = sold[dispute]
        signed = -amount if kind in MONEY_OUT or kind == HOLD else amount
        txn, original, at = str(ids[i]), originals[dispute], int(seconds[i]) + 60
        movements.append(DisputeMovement(txn, kind, signed, "USD", midnight + timedelta(seconds=int(seconds[i])),
                                         original, code))  # fmt: skip
        kinds[txn] = kind
        if kind != "dispute_fee":
            disputed[dispute] = (amount, int(seconds[i]))
        if booked == "right":
            book(txn, kind, signed, at, original)
        elif booked == "unbooked":
            expected.add(("missing_in_ledger", txn, None))
        elif booked == "twice":
            book(txn, kind, signed, at, original)
            expected.add(("duplicate", txn, book(txn, kind, signed, at + 7 * 60, original)))
        elif booked == "whole":
            expected.add(("amount_mismatch", txn, book(txn, kind, -sold[dispute], at, original)))
    inquiry = str(ids[-1])  # a dispute that never moved money, booked as if it had
    ledger_id = book(inquiry, "chargeback", -sold["inquiry"], int(seconds[-1]) + 60, originals["inquiry"])
    expected.add(("missing_at_processor", inquiry, ledger_id))
    kinds[inquiry] = "chargeback"
    disputed["inquiry"] = (sold["inquiry"], int(seconds[-1]))
    disputes = tuple(_dispute(rng, day, name, originals[name], *disputed[name]) for name in names)
    return DisputeDay(tuple(movements), disputes, bookings, expected, kinds)


def _dispute(rng: np.random.Generator, day: date, name: str, payment: str, amount: int, second: int) -> SandboxDispute:
    status, stage, due_in, outcome = _DISPUTES[name]
    updated = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(seconds=second)
    opened_days_ago = 0 if status == "WAITING_FOR_SELLER_RESPONSE" and stage == "INQUIRY" else 20
    number = int(rng.integers(10_000_000, 99_999_999))
    return SandboxDispute(
        f"{DISPUTE_ID_PREFIX}{day:%Y%m%d}-{number}", payment, amount, "USD", _REASONS[number % len(_REASONS)],
        status, stage, updated - timedelta(days=opened_days_ago), updated,
        None if due_in is None else datetime.combine(day + timedelta(days=due_in), time(23, 59, 59), tzinfo=UTC),
        outcome,
    )  # fmt: skip

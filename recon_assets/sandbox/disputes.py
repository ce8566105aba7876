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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

DISPUTE_PROCESSORS = ("paypal",)  # the processors whose sandbox disputes payments
PAYPAL_CHARGEBACK_FEE_MINOR = 2_000  # USD 20.00
HOLD, HOLD_RELEASE = "hold", "hold_release"  # a dispute's hold on the balance: not a transaction
# the movement each planted case makes, its PayPal event code, and how the ledger books it
_CASES = (
    # case,              kind,                  code,    booked
    ("lost", "chargeback", "T1201", "right"),
    ("lost_fee", "dispute_fee", "T0106", "right"),
    ("won", "chargeback_reversal", "T1202", "right"),
    ("partial", "chargeback", "T1201", "right"),
    ("reversal", "chargeback", "T1106", "right"),
    ("hold", HOLD, "T1110", "never"),
    ("hold_release", HOLD_RELEASE, "T1111", "never"),
    ("unbooked", "chargeback", "T1201", "unbooked"),
    ("unbooked_return", "chargeback_reversal", "T1202", "unbooked"),
    ("unbooked_fee", "dispute_fee", "T0106", "unbooked"),
    ("booked_twice", "chargeback", "T1201", "twice"),
    ("partial_booked_whole", "chargeback", "T1201", "whole"),
)
_OUT = ("chargeback", "dispute_fee", HOLD)


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
class DisputeDay:
    movements: tuple[DisputeMovement, ...]
    bookings: list[tuple]  # (ledger_id, reference, kind, amount_minor, currency, seconds, original_reference)
    expected: set[tuple[str, str | None, str | None]]  # (type, processor id, ledger id)
    kinds: dict[str, str]  # the kind of each finding's movement, by the id the finding names


NO_DISPUTES = DisputeDay((), [], set(), {})


def dispute_day(rng: np.random.Generator, new_ids, processor: str, day: date) -> DisputeDay:
    """The planted disputes of one processor's day; ``new_ids(count)`` gives the processor's ids of payments."""
    if processor not in DISPUTE_PROCESSORS:
        return NO_DISPUTES
    ids = new_ids(len(_CASES) + 1)  # the movements' ids, and the reference of the inquiry booked
    originals = new_ids(len(_CASES))
    sold = rng.integers(2_000, 50_000, len(_CASES))  # the disputed payments, in cents
    seconds = np.sort(rng.integers(3_600, 80_000, len(_CASES)))
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    prefix = f"led_{processor[:2]}{day:%Y%m%d}D"
    movements, bookings, expected, kinds = [], [], set(), {}

    def book(reference: str, kind: str, amount_minor: int, at: int, original: str) -> str:
        ledger_id = f"{prefix}{len(bookings) + 1:03d}"
        bookings.append((ledger_id, reference, kind, amount_minor, "USD", at, original))
        return ledger_id

    held = 0
    for i, (case, kind, code, booked) in enumerate(_CASES):
        if kind == "dispute_fee":
            amount = PAYPAL_CHARGEBACK_FEE_MINOR
        elif case.startswith("partial"):
            amount = int(sold[i]) // 2
        elif kind == HOLD_RELEASE:
            amount = held
        else:
            amount = int(sold[i])
        held = amount if kind == HOLD else held
        signed = -amount if kind in _OUT else amount
        txn, original, at = str(ids[i]), str(originals[i]), int(seconds[i]) + 60
        movements.append(DisputeMovement(txn, kind, signed, "USD", midnight + timedelta(seconds=int(seconds[i])),
                                         original, code))  # fmt: skip
        kinds[txn] = kind
        if booked == "right":
            book(txn, kind, signed, at, original)
        elif booked == "unbooked":
            expected.add(("missing_in_ledger", txn, None))
        elif booked == "twice":
            book(txn, kind, signed, at, original)
            expected.add(("duplicate", txn, book(txn, kind, signed, at + 7 * 60, original)))
        elif booked == "whole":
            expected.add(("amount_mismatch", txn, book(txn, kind, -int(sold[i]), at, original)))
    inquiry = str(ids[-1])  # a dispute that never moved money, booked as if it had
    ledger_id = book(inquiry, "chargeback", -int(sold[0]), int(seconds[0]) + 120, str(originals[0]))
    expected.add(("missing_at_processor", inquiry, ledger_id))
    kinds[inquiry] = "chargeback"
    return DisputeDay(tuple(movements), bookings, expected, kinds)

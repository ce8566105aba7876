"""The sandbox's disputes (issue 28): the money a dispute moves after the sale, per processor day, the
ledger's bookings of it (right, or with a planted fault) and the findings the faults must produce.

Each day, in USD, every movement well inside the day and about a payment sold weeks before:
- a dispute lost: the funds withdrawn and the dispute fee, both booked;
- a dispute won: the funds returned, booked;
- a partial dispute: part of the payment withdrawn, booked at that part;
- faults: a withdrawal, a return and a fee never booked (``missing_in_ledger`` each); a chargeback booked on
  an inquiry, where no money moved (``missing_at_processor``); a chargeback booked twice (``duplicate``); a
  partial withdrawal booked at the payment's whole amount (``amount_mismatch``).

PayPal names each movement by its own transaction id and event code (chargeback ``T1201``, its fee ``T0106``,
returned ``T1202``); it also reverses a payment itself (``T1106``, booked as a chargeback), holds funds for one
dispute (``T1110``) and releases those it held for another (``T1111``): the balance's, never booked, never a
finding, but funds on hold in the day's cash position. Stripe moves a dispute's money under the dispute's id
(``dp_…``), the withdrawal and its fee in one balance transaction. Square charges no fee; its disputes are read
from its disputes list, the funds withdrawn when one opens and returned when it is won, so the sandbox's open
and close on the day they are updated.

Each case belongs to a dispute its processor lists, updated on the day: resolved (lost, won, a hold released,
a return), under review, or waiting for the merchant's response, due in 1, 2 or 10 days (the inquiry that
moved no money is one of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from recon_assets.domain.records import MONEY_OUT
from recon_assets.domain.settlement import HOLD, HOLD_RELEASE  # a dispute's hold on the balance: not a transaction

DISPUTE_FEE_MINOR = {"paypal": 2_000, "stripe": 1_500}  # USD 20.00 and 15.00 (Square charges no dispute fee)
DISPUTE_ID_PREFIX = {"paypal": "PP-D-", "stripe": "dp_", "square": ""}  # then the day it was updated on
# the movement each planted case makes, how the ledger books it, its dispute, and PayPal's event code
_CASES = {
    "paypal": (
        ("chargeback", "right", "lost", "T1201"),
        ("dispute_fee", "right", "lost", "T0106"),
        ("chargeback_reversal", "right", "won", "T1202"),
        ("chargeback", "right", "partial", "T1201"),
        ("chargeback", "right", "reversal", "T1106"),
        (HOLD, "never", "held", "T1110"),
        (HOLD_RELEASE, "never", "released", "T1111"),
        ("chargeback", "unbooked", "unbooked", "T1201"),
        ("dispute_fee", "unbooked", "unbooked", "T0106"),
        ("chargeback_reversal", "unbooked", "returned", "T1202"),
        ("chargeback", "twice", "booked_twice", "T1201"),
        ("chargeback", "whole", "due_tomorrow", "T1201"),
    ),
    "stripe": (  # a fee follows its withdrawal: both are one balance transaction
        ("chargeback", "right", "lost", None),
        ("dispute_fee", "right", "lost", None),
        ("chargeback_reversal", "right", "won", None),
        ("chargeback", "right", "partial", None),
        ("dispute_fee", "right", "partial", None),
        ("chargeback", "unbooked", "unbooked", None),
        ("dispute_fee", "right", "unbooked", None),
        ("chargeback", "right", "unbooked_fee", None),
        ("dispute_fee", "unbooked", "unbooked_fee", None),
        ("chargeback_reversal", "unbooked", "returned", None),
        ("chargeback", "twice", "booked_twice", None),
        ("dispute_fee", "right", "booked_twice", None),
        ("chargeback", "whole", "due_tomorrow", None),
        ("dispute_fee", "right", "due_tomorrow", None),
    ),
    "square": (  # a dispute's money moves when it opens and, won, when it closes: the same day, here
        ("chargeback", "right", "lost", None),
        ("chargeback", "right", "won", None),
        ("chargeback_reversal", "right", "won", None),
        ("chargeback", "right", "partial", None),
        ("chargeback", "unbooked", "unbooked", None),
        ("chargeback", "right", "returned", None),
        ("chargeback_reversal", "unbooked", "returned", None),
        ("chargeback", "twice", "booked_twice", None),
        ("chargeback", "whole", "due_tomorrow", None),
    ),
}
DISPUTE_PROCESSORS = tuple(_CASES)  # the processors whose sandbox disputes payments
# each dispute's status on the day (its processor's word), its stage, the days its response is due in, and
# PayPal's outcome code once resolved
_DISPUTES = {
    "paypal": {
        "lost": ("RESOLVED", "CHARGEBACK", None, "RESOLVED_BUYER_FAVOUR"),
        "won": ("RESOLVED", "CHARGEBACK", None, "RESOLVED_SELLER_FAVOUR"),
        "partial": ("UNDER_REVIEW", "CHARGEBACK", None, None),
        "reversal": ("UNDER_REVIEW", "CHARGEBACK", None, None),
        "held": ("UNDER_REVIEW", "INQUIRY", None, None),  # funds held today
        "released": ("RESOLVED", "INQUIRY", None, "RESOLVED_SELLER_FAVOUR"),  # funds held before, released today
        "unbooked": ("WAITING_FOR_SELLER_RESPONSE", "CHARGEBACK", 10, None),
        "returned": ("RESOLVED", "CHARGEBACK", None, "RESOLVED_SELLER_FAVOUR"),
        "booked_twice": ("UNDER_REVIEW", "CHARGEBACK", None, None),
        "due_tomorrow": ("WAITING_FOR_SELLER_RESPONSE", "CHARGEBACK", 1, None),
        "inquiry": ("WAITING_FOR_SELLER_RESPONSE", "INQUIRY", 2, None),  # moved no money; booked anyway
    },
    "stripe": {
        "lost": ("lost", "chargeback", None, None),
        "won": ("won", "chargeback", None, None),
        "partial": ("under_review", "chargeback", None, None),
        "unbooked": ("needs_response", "chargeback", 10, None),
        "unbooked_fee": ("under_review", "chargeback", None, None),
        "returned": ("won", "chargeback", None, None),
        "booked_twice": ("under_review", "chargeback", None, None),
        "due_tomorrow": ("needs_response", "chargeback", 1, None),
        "inquiry": ("warning_needs_response", "inquiry", 2, None),  # moved no money; booked anyway
    },
    "square": {
        "lost": ("LOST", "chargeback", None, None),
        "won": ("WON", "chargeback", None, None),
        "partial": ("PROCESSING", "chargeback", None, None),
        "unbooked": ("EVIDENCE_REQUIRED", "chargeback", 10, None),
        "returned": ("WON", "chargeback", None, None),
        "booked_twice": ("PROCESSING", "chargeback", None, None),
        "due_tomorrow": ("EVIDENCE_REQUIRED", "chargeback", 1, None),
        "inquiry": ("INQUIRY_EVIDENCE_REQUIRED", "inquiry", 2, None),  # moved no money; booked anyway
    },
}
# Square's disputes open and move their money on the day they are updated: a day's own, never an earlier day's
OPENED_ON_THE_DAY = ("square",)
_REASONS = {
    "paypal": ("MERCHANDISE_OR_SERVICE_NOT_RECEIVED", "UNAUTHORISED", "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED"),
    "stripe": ("product_not_received", "fraudulent", "product_unacceptable"),
    "square": ("NOT_RECEIVED", "NO_KNOWLEDGE", "NOT_AS_DESCRIBED"),
}
OPENED_DAYS_BEFORE = 20  # a PayPal or Stripe dispute updated on a day opened this many days before (an inquiry
# that day)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class DisputeMovement:
    """Money a dispute moved at the processor (signed minor units), about the payment ``original_id``."""

    txn_id: str
    kind: str  # chargeback | chargeback_reversal | dispute_fee | hold | hold_release
    amount_minor: int
    currency: str
    created: datetime
    original_id: str
    event_code: str | None  # PayPal's transaction event code

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


def dispute_day(rng: np.random.Generator, new_ids, processor: str, day: date, lost: int = 0) -> DisputeDay:
    """The planted disputes of one processor's day, and ``lost`` more disputes lost and booked right (a day's
    share of disputes, for volume); ``new_ids(count)`` gives the processor's ids of payments."""
    if processor not in DISPUTE_PROCESSORS:
        return NO_DISPUTES
    paypal = processor == "paypal"
    lost_kinds = ("chargeback", "dispute_fee") if processor in DISPUTE_FEE_MINOR else ("chargeback",)
    cases = _CASES[processor] + tuple(
        (kind, "right", f"lost#{n}", "T1201" if kind == "chargeback" else "T0106") if paypal else
        (kind, "right", f"lost#{n}", None)
        for n in range(lost) for kind in lost_kinds
    )  # fmt: skip
    names = list(dict.fromkeys([*(case[2] for case in cases), "inquiry"]))
    originals = dict(zip(names, new_ids(len(names)), strict=True))  # each dispute's disputed payment
    sold = dict(zip(names, (int(a) for a in rng.integers(2_000, 50_000, len(names))), strict=True))  # cents
    dispute_ids = {name: _dispute_id(rng, processor, day) for name in names}
    # PayPal names each movement by a transaction of its own; Stripe by the dispute
    ids = (
        [str(i) for i in new_ids(len(cases) + 1)]
        if paypal
        else [dispute_ids[c[2]] for c in cases] + [dispute_ids["inquiry"]]
    )
    seconds = np.sort(rng.integers(3_600, 80_000, len(cases) + 1))
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    prefix = f"led_{processor[:2]}{day:%Y%m%d}D"
    movements, bookings, expected, kinds, disputed, opened = [], [], set(), {}, {}, {}

    def book(reference: str, kind: str, amount_minor: int, at: int, original: str) -> str:
        ledger_id = f"{prefix}{len(bookings) + 1:03d}"
        bookings.append((ledger_id, reference, kind, amount_minor, "USD", at, original))
        return ledger_id

    def finding(kind: str, kind_of_movement: str, txn: str, ledger_id: str | None = None) -> None:
        expected.add((kind, txn, ledger_id))
        kinds[txn] = kind_of_movement

    for i, (kind, booked, dispute, code) in enumerate(cases):
        if kind == "dispute_fee":
            amount = DISPUTE_FEE_MINOR[processor]
        elif dispute in ("partial", "due_tomorrow"):
            amount = sold[dispute] // 2
        else:
            amount = sold[dispute]
        signed = -amount if kind in MONEY_OUT or kind == HOLD else amount
        # Stripe takes a dispute's fee in its withdrawal's balance transaction, at the same moment
        second = int(seconds[i - 1] if kind == "dispute_fee" and not paypal else seconds[i])
        txn, original, at = ids[i], originals[dispute], second + 60
        movements.append(DisputeMovement(txn, kind, signed, "USD", midnight + timedelta(seconds=second), original,
                                         code))  # fmt: skip
        if kind != "dispute_fee":
            opened.setdefault(dispute, second)
            disputed[dispute] = (amount, opened[dispute], second)
        if booked == "right":
            book(txn, kind, signed, at, original)
        elif booked == "unbooked":
            finding("missing_in_ledger", kind, txn)
        elif booked == "twice":
            book(txn, kind, signed, at, original)
            finding("duplicate", kind, txn, book(txn, kind, signed, at + 7 * 60, original))
        elif booked == "whole":
            finding("amount_mismatch", kind, txn, book(txn, kind, -sold[dispute], at, original))
    inquiry = ids[-1]  # a dispute that never moved money, booked as if it had
    finding("missing_at_processor", "chargeback", inquiry,
            book(inquiry, "chargeback", -sold["inquiry"], int(seconds[-1]) + 60, originals["inquiry"]))  # fmt: skip
    disputed["inquiry"] = (sold["inquiry"], int(seconds[-1]), int(seconds[-1]))
    disputes = tuple(_dispute(processor, day, name, dispute_ids[name], originals[name], *disputed[name])
                     for name in names)  # fmt: skip
    return DisputeDay(tuple(movements), disputes, bookings, expected, kinds)


def _dispute_id(rng: np.random.Generator, processor: str, day: date) -> str:
    """A dispute's id that names the day it was updated on, so the sandbox finds it again by id."""
    if processor == "paypal":
        return f"{DISPUTE_ID_PREFIX[processor]}{day:%Y%m%d}-{int(rng.integers(10_000_000, 99_999_999))}"
    length = 16 if processor == "stripe" else 14  # Stripe's dp_ and 24, Square's 22 characters
    return f"{DISPUTE_ID_PREFIX[processor]}{day:%Y%m%d}" + "".join(rng.choice(list(_B62), length))


def _dispute(processor: str, day: date, name: str, dispute_id: str, payment: str, amount: int, first: int,
             last: int) -> SandboxDispute:  # fmt: skip
    """The dispute whose movements were made between the day's seconds ``first`` and ``last``."""
    status, stage, due_in, outcome = _DISPUTES[processor][name.partition("#")[0]]
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    updated = midnight + timedelta(seconds=last)
    if processor in OPENED_ON_THE_DAY:
        created = midnight + timedelta(seconds=first)
    else:
        created = updated - timedelta(days=0 if name == "inquiry" else OPENED_DAYS_BEFORE)
    reasons = _REASONS[processor]
    return SandboxDispute(
        dispute_id, payment, amount, "USD", reasons[sum(map(ord, dispute_id)) % len(reasons)],
        status, stage, created, updated,
        None if due_in is None else datetime.combine(day + timedelta(days=due_in), time(23, 59, 59), tzinfo=UTC),
        outcome,
    )  # fmt: skip

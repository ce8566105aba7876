"""Disputes as a working list: what each processor says of a dispute, which statuses wait on the merchant,
which are over, and which are due soon. A dispute not answered before its due date is lost by default."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WON, LOST = "won", "lost"  # how a closed dispute ended for the merchant
DEFAULT_DISPUTE_DUE_DAYS = 3  # a dispute due within this many days of a day is listed as due soon on it

# The statuses, as each processor writes them, in which the dispute waits on the merchant's response or is over
NEEDS_RESPONSE = frozenset({
    "warning_needs_response", "needs_response",  # Stripe
    "INQUIRY_EVIDENCE_REQUIRED", "EVIDENCE_REQUIRED",  # Square
    "WAITING_FOR_SELLER_RESPONSE",  # PayPal
})  # fmt: skip
CLOSED = frozenset({
    "warning_closed", "won", "lost", "prevented",  # Stripe
    "INQUIRY_CLOSED", "WON", "LOST", "ACCEPTED",  # Square
    "RESOLVED",  # PayPal
})  # fmt: skip


@dataclass(frozen=True)
class Dispute:
    """One dispute as its processor last described it; amounts in minor units of ``currency``."""

    processor: str
    reference: str  # the dispute's id at the processor
    payment: str | None  # the disputed payment's id
    amount_minor: int  # what is disputed: the payment or part of it
    currency: str
    reason: str | None
    status: str  # the processor's own word
    stage: str | None  # an inquiry or a chargeback, where the processor says
    due_by: datetime | None  # the merchant's response is due by then
    opened_on: date  # UTC
    updated_at: datetime
    outcome: str | None = None  # WON or LOST once closed, where the processor says

    @property
    def needs_response(self) -> bool:
        return self.status in NEEDS_RESPONSE

    @property
    def closed_on(self) -> date | None:
        """The day the dispute closed: its last update, once its status is final."""
        return self.updated_at.date() if self.status in CLOSED else None


def due_soon(disputes: Iterable[Dispute], day: date, within_days: int = DEFAULT_DISPUTE_DUE_DAYS) -> list[Dispute]:
    """The disputes open by ``day`` and waiting on the merchant whose response is due by ``within_days`` after
    it (overdue ones included), earliest due first."""
    last = day + timedelta(days=within_days)
    waiting = [d for d in disputes if d.needs_response and d.due_by is not None and d.due_by.date() <= last
               and d.opened_on <= day]  # fmt: skip
    return sorted(waiting, key=lambda d: (d.due_by, d.processor, d.reference))

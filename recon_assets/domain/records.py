"""The canonical records every source is normalised into, and the rules every source's records obey.

Each source's wire models (in ``recon_assets.processors``) are pydantic models read a page at a time;
the types below are the checks they share. The canonical records are plain named tuples: a million of
them a day must cost next to nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, Field

from recon_assets.domain.money import is_known_currency


class Kind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


# Members by value: a dictionary lookup, where calling the enum costs a Python call a record.
KINDS = {kind.value: kind for kind in Kind}
STATUSES = {status.value: status for status in Status}


def _iso_currency(value: str) -> str:
    code = value.upper()
    if not is_known_currency(code):
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return code


# Amounts are stored as PostgreSQL bigint: anything outside it cannot be a real amount.
BIGINT = (-(2**63) + 1, 2**63 - 1)
MinorUnits = Annotated[int, Field(ge=BIGINT[0], le=BIGINT[1])]
# An ISO 4217 code in any case, read upper-cased.
Currency = Annotated[str, AfterValidator(_iso_currency)]


class ProcessorRecord(NamedTuple):
    """One processor money movement (a charge or a refund), amounts signed in minor units."""

    processor_txn_id: str
    kind: Kind
    amount_minor: int
    currency: str
    fee_minor: int
    status: Status
    occurred_at: datetime  # UTC

    @property
    def key(self) -> tuple[str, str]:
        """What makes two records the same record: a repeat has the same key."""
        return self.processor_txn_id, self.kind

    @property
    def business_date(self):
        return self.occurred_at.date()


class LedgerRecord(NamedTuple):
    """One entry the business booked in its own ledger."""

    ledger_id: str
    processor_name: str
    processor_reference: str
    kind: Kind
    amount_minor: int
    currency: str
    fee_minor: int | None
    status: Status
    booked_at: datetime  # UTC
    merchant_id: str | None

    @property
    def key(self) -> tuple[str, str]:
        return self.ledger_id, self.kind

    @property
    def business_date(self):
        return self.booked_at.date()


def minor_units(amount_minor: int) -> int:
    """``amount_minor``, checked to be an amount the warehouse can hold (a bigint)."""
    if not BIGINT[0] <= amount_minor <= BIGINT[1]:
        raise ValueError(f"an amount no bigint holds ({amount_minor} minor units)")
    return amount_minor


def signed(kind: Kind, amount_minor: int) -> int:
    """``amount_minor``, checked: an amount the warehouse can hold, with the sign of its kind (a processor's
    charge moves money in and its refund out)."""
    minor_units(amount_minor)
    if kind == Kind.CHARGE and amount_minor < 0:
        raise ValueError(f"a charge with a negative amount ({amount_minor})")
    if kind == Kind.REFUND and amount_minor > 0:
        raise ValueError(f"a refund with a positive amount ({amount_minor})")
    return amount_minor


class QuarantinedRecord(BaseModel):
    """A source record that failed validation: kept with the reason, never silently dropped."""

    source: str
    record_id: str | None
    reason: str
    raw: Any  # as received: an object, or whatever else the feed sent in its place

"""The canonical money movement every source is normalised into, validated at the boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recon_assets.domain.money import is_known_currency


class Kind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


# Amounts are stored as PostgreSQL bigint: anything outside it cannot be a real amount.
MinorUnits = Annotated[int, Field(ge=-(2**63) + 1, le=2**63 - 1)]


def _upper_iso_currency(value: str) -> str:
    code = str(value).upper()
    if not is_known_currency(code):
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return code


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return value.astimezone(UTC)


class ProcessorTransaction(BaseModel):
    """One processor money movement (a charge or a refund), amounts signed in minor units."""

    model_config = ConfigDict(frozen=True)

    processor: str
    processor_txn_id: str = Field(min_length=1, max_length=255)
    kind: Kind
    amount_minor: MinorUnits
    currency: str
    fee_minor: MinorUnits = 0
    status: Status
    occurred_at: datetime
    raw: dict[str, Any] = Field(repr=False)

    _currency = field_validator("currency")(_upper_iso_currency)
    _occurred_at = field_validator("occurred_at")(_utc)

    @model_validator(mode="after")
    def _sign_matches_kind(self) -> ProcessorTransaction:
        """A processor's charge moves money in and its refund out: the other sign is a contradiction."""
        if self.kind == Kind.CHARGE and self.amount_minor < 0:
            raise ValueError(f"a charge with a negative amount ({self.amount_minor})")
        if self.kind == Kind.REFUND and self.amount_minor > 0:
            raise ValueError(f"a refund with a positive amount ({self.amount_minor})")
        return self

    @property
    def business_date(self):
        return self.occurred_at.date()


class LedgerTransaction(BaseModel):
    """One entry the business booked in its own ledger."""

    model_config = ConfigDict(frozen=True)

    ledger_id: str = Field(min_length=1, max_length=255)
    processor: str
    processor_reference: str = Field(min_length=1, max_length=255)
    kind: Kind
    amount_minor: MinorUnits
    currency: str
    fee_minor: MinorUnits | None = None
    status: Status
    booked_at: datetime
    merchant_id: str | None = None
    raw: dict[str, Any] = Field(repr=False)

    _currency = field_validator("currency")(_upper_iso_currency)
    _booked_at = field_validator("booked_at")(_utc)

    @property
    def business_date(self):
        return self.booked_at.date()


class QuarantinedRecord(BaseModel):
    """A source record that failed validation: kept with the reason, never silently dropped."""

    source: str
    record_id: str | None
    reason: str
    raw: Any  # as received: an object, or whatever else the feed sent in its place

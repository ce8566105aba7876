"""The canonical money movement every source is normalised into, validated at the boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from recon_assets.domain.money import is_known_currency


class Kind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


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
    amount_minor: int
    currency: str
    fee_minor: int = 0
    status: Status
    occurred_at: datetime
    raw: dict[str, Any] = Field(repr=False)

    _currency = field_validator("currency")(_upper_iso_currency)
    _occurred_at = field_validator("occurred_at")(_utc)

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
    amount_minor: int
    currency: str
    fee_minor: int | None = None
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
    raw: dict[str, Any] | list[Any] | str | None

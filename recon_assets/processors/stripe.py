"""Stripe: ``GET /v1/charges`` and ``GET /v1/refunds``, newest first, cursor ``starting_after``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from recon_assets.domain.money import exponent
from recon_assets.domain.records import STATUSES, Currency, Kind, MinorUnits, ProcessorRecord, Status, signed
from recon_assets.processors.base import BrokenEnvelope, PageFormat, PageStream, SourceClient, day_windows

PAGE_LIMIT = 100  # Stripe's maximum

# Stripe's smallest-unit amounts differ from ISO 4217 for a few currencies (Stripe's currency docs):
# ISK is sent with two decimals, MGA with none.
STRIPE_AMOUNT_EXPONENTS = {"ISK": 2, "MGA": 0}


class StripeCharge(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: Literal["charge"]
    amount: MinorUnits
    currency: Currency
    created: int
    status: Literal["succeeded", "pending", "failed"]
    refunded: bool = False


class StripeRefund(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: Literal["refund"]
    amount: MinorUnits
    currency: Currency
    created: int
    status: Literal["pending", "requires_action", "succeeded", "failed", "canceled"]


class StripeChargeList(BaseModel):
    data: list[StripeCharge]
    has_more: bool


class StripeRefundList(BaseModel):
    data: list[StripeRefund]
    has_more: bool


FORMATS = {
    "/v1/charges": PageFormat("data", StripeChargeList, StripeCharge),
    "/v1/refunds": PageFormat("data", StripeRefundList, StripeRefund),
}

_REFUND_STATUS = {
    "succeeded": Status.SUCCEEDED, "pending": Status.PENDING, "requires_action": Status.PENDING,
    "failed": Status.FAILED, "canceled": Status.FAILED,
}  # fmt: skip


def iso_minor_from_stripe(amount: int, currency: str) -> int:
    """Stripe's smallest-unit integer to ISO 4217 minor units."""
    iso = exponent(currency)
    shift = STRIPE_AMOUNT_EXPONENTS.get(currency, iso) - iso
    return amount // 10**shift if shift > 0 else amount * 10 ** (-shift)


class StripeClient(SourceClient):
    """``key`` is the secret API key."""

    name = "stripe"

    def streams(self, day: date) -> list[PageStream]:
        return [
            (lambda path=path, start=start, end=end: self._pages(path, start, end))
            for start, end in day_windows(day, self.windows)
            for path in FORMATS
        ]

    def _pages(self, path: str, start: datetime, end: datetime):
        params: dict[str, Any] = {
            "created[gte]": int(start.timestamp()), "created[lt]": int(end.timestamp()), "limit": PAGE_LIMIT,
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {self.key}"}
        for number in itertools.count(1):
            page = self.read_page(self.http.request("GET", path, params=params, headers=headers), FORMATS[path],
                                  path, number)  # fmt: skip
            yield page
            if not page.field("has_more") or not (page.records or page.rejected):
                return
            # page after the last record that has an id (a garbage entry at the end is quarantined, not followed)
            last = _last_id(page)
            if last is None:
                raise BrokenEnvelope(self.name, path, 200, f"page {number}: no record has an id to page after")
            params["starting_after"] = last

    def canonical(self, record: StripeCharge | StripeRefund, endpoint: str) -> ProcessorRecord:
        amount = iso_minor_from_stripe(record.amount, record.currency)
        if record.object == "refund":
            kind, status, amount = Kind.REFUND, _REFUND_STATUS[record.status], -amount
        else:
            kind = Kind.CHARGE
            status = Status.REFUNDED if record.refunded and record.status == "succeeded" else STATUSES[record.status]
        # fee 0: Stripe reports fees on balance transactions, not on charges
        created = datetime.fromtimestamp(record.created, tz=UTC)
        return ProcessorRecord(record.id, kind, signed(kind, amount), record.currency, 0, status, created)


def _last_id(page) -> str | None:
    """The id of the page's last entry that has one, valid or not."""
    last_valid = page.records[-1][1].id if page.records else None
    last_position = page.records[-1][0] if page.records else -1
    for position, raw, _ in reversed(page.rejected):
        if position > last_position and isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
            return raw["id"]
    return last_valid

"""Stripe: ``GET /v1/charges`` and ``GET /v1/refunds``, newest first, cursor ``starting_after``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from recon_assets.domain.money import exponent
from recon_assets.domain.records import Kind, ProcessorTransaction, Status
from recon_assets.processors.base import BrokenEnvelope, PageStream, SourceClient, day_windows

PAGE_LIMIT = 100  # Stripe's maximum

# Stripe's smallest-unit amounts differ from ISO 4217 for a few currencies (Stripe's currency docs):
# ISK is sent with two decimals, MGA with none.
STRIPE_AMOUNT_EXPONENTS = {"ISK": 2, "MGA": 0}


class StripeCharge(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    object: Literal["charge"]
    amount: int
    currency: str
    created: int
    status: Literal["succeeded", "pending", "failed"]
    refunded: bool = False


class StripeRefund(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    object: Literal["refund"]
    amount: int
    currency: str
    created: int
    status: Literal["pending", "requires_action", "succeeded", "failed", "canceled"]


_REFUND_STATUS = {
    "succeeded": Status.SUCCEEDED, "pending": Status.PENDING, "requires_action": Status.PENDING,
    "failed": Status.FAILED, "canceled": Status.FAILED,
}  # fmt: skip


def iso_minor_from_stripe(amount: int, currency: str) -> int:
    """Stripe's smallest-unit integer to ISO 4217 minor units."""
    code = currency.upper()
    iso = exponent(code)
    shift = STRIPE_AMOUNT_EXPONENTS.get(code, iso) - iso
    return amount // 10**shift if shift > 0 else amount * 10 ** (-shift)


class StripeClient(SourceClient):
    """``key`` is the secret API key."""

    name = "stripe"

    def streams(self, day: date) -> list[PageStream]:
        return [
            (lambda path=path, start=start, end=end: self._pages(path, start, end))
            for start, end in day_windows(day, self.windows)
            for path in ("/v1/charges", "/v1/refunds")
        ]

    def _pages(self, path: str, start: datetime, end: datetime):
        params: dict[str, Any] = {
            "created[gte]": int(start.timestamp()), "created[lt]": int(end.timestamp()), "limit": PAGE_LIMIT,
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {self.key}"}
        for page in itertools.count(1):
            body = self.http.request_json("GET", path, params=params, headers=headers)
            data = self.page_items(body, "data", path, page)
            yield data
            if not body.get("has_more") or not data:
                return
            # page after the last record that has an id (a garbage entry at the end is quarantined, not followed)
            ids = [item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]
            if not ids:
                raise BrokenEnvelope(self.name, path, 200, f"page {page}: no record has an id to page after")
            params["starting_after"] = ids[-1]

    def parse(self, raw: dict[str, Any]) -> ProcessorTransaction:
        if raw.get("object") == "refund":
            refund = StripeRefund.model_validate(raw)
            kind, amount, status = Kind.REFUND, -refund.amount, _REFUND_STATUS[refund.status]
            record = refund
        else:
            charge = StripeCharge.model_validate(raw)
            status = Status.REFUNDED if charge.refunded and charge.status == "succeeded" else Status(charge.status)
            kind, amount, record = Kind.CHARGE, charge.amount, charge
        return ProcessorTransaction(
            processor=self.name,
            processor_txn_id=record.id,
            kind=kind,
            amount_minor=iso_minor_from_stripe(amount, record.currency),
            currency=record.currency,
            fee_minor=0,  # Stripe reports fees on balance transactions, not on charges
            status=status,
            occurred_at=datetime.fromtimestamp(record.created, tz=UTC),
            raw=raw,
        )

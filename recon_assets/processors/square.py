"""Square: ``GET /v2/payments`` per location (it defaults to one) and ``GET /v2/refunds``."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from recon_assets.domain.records import Kind, ProcessorTransaction, Status
from recon_assets.processors.base import BrokenEnvelope, PageStream, SourceClient, day_windows

PAGE_LIMIT = 100
SQUARE_VERSION = "2025-10-16"
_PAYMENT_STATUS = {
    "COMPLETED": Status.SUCCEEDED, "APPROVED": Status.PENDING, "PENDING": Status.PENDING,
    "CANCELED": Status.FAILED, "FAILED": Status.FAILED,
}  # fmt: skip
_REFUND_STATUS = {
    "COMPLETED": Status.SUCCEEDED, "PENDING": Status.PENDING, "REJECTED": Status.FAILED, "FAILED": Status.FAILED,
}  # fmt: skip


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class SquareMoney(BaseModel):
    amount: int
    currency: str


class SquareFee(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount_money: SquareMoney


class SquarePayment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: datetime
    amount_money: SquareMoney
    status: str
    processing_fee: list[SquareFee] | None = None


class SquareRefund(SquarePayment):
    payment_id: str | None = None


class SquareClient(SourceClient):
    """``key`` is the access token."""

    name = "square"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Square-Version": SQUARE_VERSION}

    def location_ids(self) -> list[str]:
        path = "/v2/locations"
        body = self.http.request_json("GET", path, headers=self._headers)
        locations = self.page_items(body, "locations", path, 1, optional=True)
        ids = [loc.get("id") for loc in locations if isinstance(loc, dict)]
        if len(ids) != len(locations) or not all(isinstance(i, str) and i for i in ids):
            raise BrokenEnvelope(self.name, path, 200, "a location without an id")
        return ids

    def streams(self, day: date) -> list[PageStream]:
        windows = day_windows(day, self.windows)
        payments = [
            lambda s=s, e=e, loc=loc: self._pages("/v2/payments", "payments", s, e, loc)
            for loc in self.location_ids()
            for s, e in windows
        ]
        refunds = [lambda s=s, e=e: self._pages("/v2/refunds", "refunds", s, e, None) for s, e in windows]
        return payments + refunds

    def _pages(self, path: str, key: str, start: datetime, end: datetime, location_id: str | None):
        params: dict[str, Any] = {
            "begin_time": rfc3339(start), "end_time": rfc3339(end), "sort_order": "ASC", "limit": PAGE_LIMIT,
        }  # fmt: skip
        if location_id:
            params["location_id"] = location_id
        for page in itertools.count(1):
            body = self.http.request_json("GET", path, params=params, headers=self._headers)
            items = self.page_items(body, key, path, page, optional=True)
            yield [{**item, "_kind": key} if isinstance(item, dict) else item for item in items]
            if not body.get("cursor"):
                return
            params["cursor"] = body["cursor"]

    def identity(self, raw: dict[str, Any]):
        return (raw.get("_kind"), raw["id"]) if raw.get("id") is not None else None

    def parse(self, raw: dict[str, Any]) -> ProcessorTransaction:
        payload = {k: v for k, v in raw.items() if k != "_kind"}
        is_refund = raw.get("_kind") == "refunds"
        record = (SquareRefund if is_refund else SquarePayment).model_validate(payload)
        fee = sum(f.amount_money.amount for f in record.processing_fee or [])
        amount = record.amount_money.amount
        return ProcessorTransaction(
            processor=self.name,
            processor_txn_id=record.id,
            kind=Kind.REFUND if is_refund else Kind.CHARGE,
            amount_minor=-amount if is_refund else amount,
            currency=record.amount_money.currency,
            fee_minor=fee,
            status=(_REFUND_STATUS if is_refund else _PAYMENT_STATUS)[record.status],
            occurred_at=record.created_at,
            raw=payload,
        )

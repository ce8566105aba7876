"""The internal ledger: ``GET /v1/transactions?date=`` as in ``shared/contracts/ledger-api.yaml``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from recon_assets.domain.money import to_minor
from recon_assets.domain.records import LedgerTransaction
from recon_assets.processors.base import PageStream, SourceClient

PAGE_LIMIT = 1000


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    processor: str
    processor_reference: str
    kind: Literal["charge", "refund"]
    amount: Decimal
    fee: Decimal | None = None
    currency: str
    status: Literal["succeeded", "pending", "failed", "refunded"]
    merchant_id: str | None = None
    booked_at: datetime


class LedgerClient(SourceClient):
    name = "ledger"
    record_model = LedgerTransaction

    def __init__(self, http, token: str, processor: str | None = None, **kwargs):
        super().__init__(http, **kwargs)
        self._headers = {"Authorization": f"Bearer {token}"}
        self.processor = processor

    def streams(self, day: date) -> list[PageStream]:
        return [lambda: self._pages(day)]

    def _pages(self, day: date):
        params: dict[str, Any] = {"date": day.isoformat(), "limit": PAGE_LIMIT}
        if self.processor:
            params["processor"] = self.processor
        while True:
            body = self.http.request_json("GET", "/v1/transactions", params=params, headers=self._headers)
            yield body["data"]
            token = body.get("next_page_token")
            if not token:
                return
            params["page_token"] = token

    def parse(self, raw: dict[str, Any]) -> LedgerTransaction:
        entry = LedgerEntry.model_validate(raw)
        currency = entry.currency.upper()
        return LedgerTransaction(
            ledger_id=entry.id,
            processor=entry.processor,
            processor_reference=entry.processor_reference,
            kind=entry.kind,
            amount_minor=to_minor(entry.amount, currency),
            currency=currency,
            fee_minor=to_minor(entry.fee, currency) if entry.fee is not None else None,
            status=entry.status,
            booked_at=entry.booked_at,
            merchant_id=entry.merchant_id,
            raw=raw,
        )

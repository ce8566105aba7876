"""The internal ledger: ``GET /v1/transactions?date=``, as the project's contract (``recon_assets/contracts``) says."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from recon_assets.contracts import ledger_entry_values, ledger_page_limits
from recon_assets.domain.money import to_minor
from recon_assets.domain.records import LedgerTransaction
from recon_assets.processors.base import PageStream, SourceClient

_, PAGE_LIMIT = ledger_page_limits()  # the largest page the contract allows


class LedgerEntry(BaseModel):
    """One entry as the contract describes it; values outside its enumerations are refused."""

    model_config = ConfigDict(extra="ignore")
    id: str
    processor: Literal[ledger_entry_values("processor")]  # type: ignore[valid-type]
    processor_reference: str
    kind: Literal[ledger_entry_values("kind")]  # type: ignore[valid-type]
    amount: Decimal
    fee: Decimal | None = None
    currency: str
    status: Literal[ledger_entry_values("status")]  # type: ignore[valid-type]
    merchant_id: str | None = None
    booked_at: datetime


class LedgerClient(SourceClient):
    """``key`` is the bearer token; ``processor`` narrows the entries to one processor's."""

    name = "ledger"

    def __init__(self, http, key: str, secret: str | None = None, *, processor: str | None = None, **paging):
        super().__init__(http, key, secret, **paging)
        self.processor = processor

    def streams(self, day: date) -> list[PageStream]:
        return [lambda: self._pages(day)]

    def _pages(self, day: date):
        path = "/v1/transactions"
        params: dict[str, Any] = {"date": day.isoformat(), "limit": PAGE_LIMIT}
        if self.processor:
            params["processor"] = self.processor
        headers = {"Authorization": f"Bearer {self.key}"}
        for page in itertools.count(1):
            body = self.http.request_json("GET", path, params=params, headers=headers)
            yield self.page_items(body, "data", path, page)
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

"""The internal ledger: ``GET /v1/transactions?date=``, as the project's contract (``recon_assets/contracts``) says."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from recon_assets.contracts import ledger_entry_values, ledger_page_limits
from recon_assets.domain.records import LEDGER_RECORD, Canonical, Currency, Kind, minor_column
from recon_assets.processors.base import PageFormat, PageStream, SourceClient


class LedgerEntry(BaseModel):
    """One entry as the contract describes it; values outside its enumerations are refused."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    processor: Literal[ledger_entry_values("processor")]  # type: ignore[valid-type]
    processor_reference: str = Field(min_length=1, max_length=255)
    kind: Literal[ledger_entry_values("kind")]  # type: ignore[valid-type]
    amount: Decimal
    fee: Decimal | None = None
    currency: Currency
    status: Literal[ledger_entry_values("status")]  # type: ignore[valid-type]
    merchant_id: str | None = None
    booked_at: AwareDatetime
    order_reference: str | None = None  # the order one entry books for several payments (a split tender)
    original_reference: str | None = None  # for a dispute's movement: the disputed payment


class LedgerPage(BaseModel):
    data: list[LedgerEntry]
    next_page_token: str | None = None


PATH = "/v1/transactions"
RECONCILED_KINDS = tuple(kind.value for kind in Kind)  # payments and disputes' movements, not payouts or fees
FORMAT = PageFormat("data", LedgerPage, LedgerEntry)


class LedgerClient(SourceClient):
    """``key`` is the bearer token; ``processor`` narrows the entries to one processor's."""

    name = "ledger"
    records_per_page = ledger_page_limits()[1]  # the largest page the contract allows
    layout = LEDGER_RECORD

    def __init__(self, http, key: str, secret: str | None = None, *, processor: str | None = None, **paging):
        super().__init__(http, key, secret, **paging)
        self.processor = processor

    def streams(self, day: date) -> list[PageStream]:
        return [lambda: self._pages(day)]

    def probe(self) -> str:
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        params = {"date": yesterday.isoformat(), "limit": 1}
        body = self.http.request("GET", PATH, params=params, headers={"Authorization": f"Bearer {self.key}"})
        self.read_page(body, FORMAT, PATH, 1)
        return f"GET {PATH}: a page of {yesterday.isoformat()}"

    def _pages(self, day: date):
        params: dict[str, Any] = {"date": day.isoformat(), "limit": self.records_per_page}
        if self.processor:
            params["processor"] = self.processor
        headers = {"Authorization": f"Bearer {self.key}"}
        for number in itertools.count(1):
            page = self.read_page(self.http.request("GET", PATH, params=params, headers=headers), FORMAT, PATH, number)
            yield page
            token = page.field("next_page_token")
            if not token:
                return
            params["page_token"] = token

    def canonical(self, entries: list[LedgerEntry], endpoint: str) -> Canonical:
        currencies = [entry.currency for entry in entries]
        amounts, refused = minor_column([entry.amount for entry in entries], currencies)
        fees, fee_refused = minor_column([entry.fee for entry in entries], currencies)
        columns = {
            "ledger_id": [entry.id for entry in entries],
            "processor_name": [entry.processor for entry in entries],
            "processor_reference": [entry.processor_reference for entry in entries],
            "kind": [entry.kind for entry in entries],
            "amount_minor": amounts,
            "currency": currencies,
            "fee_minor": [
                None if entry.fee is None else fee for entry, fee in zip(entries, fees.tolist(), strict=True)
            ],
            "status": [entry.status for entry in entries],
            "booked_at": [entry.booked_at for entry in entries],  # aware: the layout stores it in UTC
            "merchant_id": [entry.merchant_id for entry in entries],
            "order_reference": [entry.order_reference for entry in entries],
            "original_reference": [entry.original_reference for entry in entries],
        }
        # payouts and the fees they withheld are the cash side's (settlement), not movements to match
        skipped = np.array([entry.kind not in RECONCILED_KINDS for entry in entries], dtype=bool)
        return Canonical(columns, refused | fee_refused, skipped)

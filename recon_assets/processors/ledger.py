"""The internal ledger: ``GET /v1/transactions?date=``, as the project's contract (``recon_assets/contracts``) says."""

from __future__ import annotations

import itertools
from datetime import UTC, date
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from recon_assets.contracts import ledger_entry_values, ledger_page_limits
from recon_assets.domain.money import to_minor
from recon_assets.domain.records import KINDS, STATUSES, Currency, LedgerRecord, minor_units
from recon_assets.processors.base import PageFormat, PageStream, SourceClient

_, PAGE_LIMIT = ledger_page_limits()  # the largest page the contract allows


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


class LedgerPage(BaseModel):
    data: list[LedgerEntry]
    next_page_token: str | None = None


PATH = "/v1/transactions"
FORMAT = PageFormat("data", LedgerPage, LedgerEntry)


class LedgerClient(SourceClient):
    """``key`` is the bearer token; ``processor`` narrows the entries to one processor's."""

    name = "ledger"

    def __init__(self, http, key: str, secret: str | None = None, *, processor: str | None = None, **paging):
        super().__init__(http, key, secret, **paging)
        self.processor = processor

    def streams(self, day: date) -> list[PageStream]:
        return [lambda: self._pages(day)]

    def _pages(self, day: date):
        params: dict[str, Any] = {"date": day.isoformat(), "limit": PAGE_LIMIT}
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

    def canonical(self, entry: LedgerEntry, endpoint: str) -> LedgerRecord:
        currency = entry.currency
        return LedgerRecord(
            entry.id,
            entry.processor,
            entry.processor_reference,
            KINDS[entry.kind],
            minor_units(to_minor(entry.amount, currency)),
            currency,
            minor_units(to_minor(entry.fee, currency)) if entry.fee is not None else None,
            STATUSES[entry.status],
            entry.booked_at.astimezone(UTC),
            entry.merchant_id,
        )

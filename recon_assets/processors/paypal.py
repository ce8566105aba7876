"""PayPal: OAuth2 client credentials, then Transaction Search ``GET /v1/reporting/transactions``."""

from __future__ import annotations

import re
import threading
import time
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from recon_assets.domain.money import to_minor
from recon_assets.domain.records import Kind, ProcessorTransaction, Status
from recon_assets.processors.base import BrokenEnvelope, PageStream, SkipRecord, SourceClient, day_windows
from recon_assets.processors.http import Unauthorized

PAGE_SIZE = 500  # PayPal's maximum
_STATUS = {"S": Status.SUCCEEDED, "P": Status.PENDING, "D": Status.FAILED, "V": Status.REFUNDED}
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_paypal_time(value: str) -> datetime:
    """PayPal's spec writes ``+00:00``; its live responses write ``+0000``. Accept both."""
    return datetime.fromisoformat(_COMPACT_OFFSET.sub(r"\1:\2", value.replace("Z", "+00:00")))


def format_paypal_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S%z").replace("+0000", "+00:00")


class PayPalMoney(BaseModel):
    currency_code: str
    value: str


class PayPalTransactionInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    transaction_id: str
    transaction_event_code: str
    transaction_initiation_date: str
    transaction_amount: PayPalMoney
    fee_amount: PayPalMoney | None = None
    transaction_status: str


def _total_pages(body: dict[str, Any]) -> int:
    try:
        return int(body.get("total_pages") or 0)
    except (TypeError, ValueError):
        return 0


def event_kind(event_code: str) -> Kind:
    """T00xx are payments, T11xx reversals and refunds; other families move no customer money."""
    if event_code.startswith("T00"):
        return Kind.CHARGE
    if event_code.startswith("T11"):
        return Kind.REFUND
    raise SkipRecord(event_code)


class PayPalClient(SourceClient):
    """``key`` is the OAuth2 client id and ``secret`` the client secret."""

    name = "paypal"

    def __init__(self, http, key: str, secret: str | None = None, **paging):
        super().__init__(http, key, secret, **paging)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    def _access_token(self, refresh: bool = False) -> str:
        with self._token_lock:
            if refresh or self._token is None or time.monotonic() >= self._token_expires:
                body = self.http.request_json(
                    "POST", "/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=(self.key, self.secret)
                )
                if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
                    raise BrokenEnvelope(self.name, "/v1/oauth2/token", 200, "the token response has no access_token")
                self._token = body["access_token"]
                self._token_expires = time.monotonic() + max(0, int(body.get("expires_in", 0)) - 60)
            return self._token

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        token = self._access_token()
        try:
            return self.http.request_json("GET", path, params=params, headers={"Authorization": f"Bearer {token}"})
        except Unauthorized:  # expired or revoked early: refresh once
            token = self._access_token(refresh=True)
            return self.http.request_json("GET", path, params=params, headers={"Authorization": f"Bearer {token}"})

    def streams(self, day: date) -> list[PageStream]:
        return [lambda s=s, e=e: self._pages(s, e) for s, e in day_windows(day, self.windows)]

    def _pages(self, start: datetime, end: datetime):
        params: dict[str, Any] = {
            "start_date": format_paypal_time(start), "end_date": format_paypal_time(end),
            "fields": "all", "page_size": PAGE_SIZE, "page": 1, "balance_affecting_records_only": "Y",
        }  # fmt: skip
        path = "/v1/reporting/transactions"
        while True:
            body = self._get(path, params)
            yield self.page_items(body, "transaction_details", path, params["page"])
            if params["page"] >= _total_pages(body):
                return
            params["page"] += 1

    def identity(self, raw: dict[str, Any]):
        info = raw.get("transaction_info")
        if not isinstance(info, dict) or info.get("transaction_id") is None:
            return None
        return info.get("transaction_id"), info.get("transaction_event_code")

    def record_id(self, raw: dict[str, Any]) -> str | None:
        info = raw.get("transaction_info")
        return info.get("transaction_id") if isinstance(info, dict) else None

    def parse(self, raw: dict[str, Any]) -> ProcessorTransaction:
        info = PayPalTransactionInfo.model_validate(raw["transaction_info"])
        kind = event_kind(info.transaction_event_code)
        money = info.transaction_amount
        currency = money.currency_code.upper()
        fee = to_minor(info.fee_amount.value, currency) if info.fee_amount else 0
        return ProcessorTransaction(
            processor=self.name,
            processor_txn_id=info.transaction_id,
            kind=kind,
            amount_minor=to_minor(money.value, currency),
            currency=currency,
            fee_minor=abs(fee),
            status=_STATUS[info.transaction_status],
            occurred_at=parse_paypal_time(info.transaction_initiation_date),
            raw=raw,
        )

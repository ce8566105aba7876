"""PayPal: OAuth2 client credentials, then Transaction Search ``GET /v1/reporting/transactions``; its
withdrawals to the bank (event code ``T0400``) are PayPal's payouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from recon_assets.domain.disputes import LOST, WON, Dispute
from recon_assets.domain.money import to_minor
from recon_assets.domain.records import Canonical, Currency, Kind, Status, minor_column, wrong_sign
from recon_assets.domain.settlement import HOLD, HOLD_RELEASE, BalanceHold, Payout, PayoutItem
from recon_assets.processors.base import (
    BrokenEnvelope,
    PageFormat,
    PageStream,
    SourceClient,
    day_bounds,
    day_windows,
)
from recon_assets.processors.http import Unauthorized

PATH = "/v1/reporting/transactions"
DISPUTES = "/v1/customer/disputes"
DISPUTES_PER_PAGE = 50  # the Disputes API's maximum
WITHDRAWAL = "T0400"  # the general withdrawal to a bank account
HOLD_CODES = {"T1110": HOLD, "T1111": HOLD_RELEASE}  # funds held for a dispute, and released
_STATUS = {"S": Status.SUCCEEDED, "P": Status.PENDING, "D": Status.FAILED, "V": Status.REFUNDED}


def format_paypal_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S%z").replace("+0000", "+00:00")


class PayPalMoney(BaseModel):
    currency_code: Currency
    value: str  # a decimal string, converted exactly


class PayPalTransactionInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    transaction_id: str = Field(min_length=1, max_length=255)
    transaction_event_code: str
    # PayPal's spec writes +00:00, its live responses +0000: both are read
    transaction_initiation_date: AwareDatetime
    transaction_amount: PayPalMoney
    fee_amount: PayPalMoney | None = None
    transaction_status: Literal["S", "P", "D", "V"]
    invoice_id: str | None = None  # the merchant's invoice (order) the payment paid


class PayPalTransaction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    transaction_info: PayPalTransactionInfo


class PayPalPage(BaseModel):
    transaction_details: list[PayPalTransaction]
    total_pages: int = 0


FORMAT = PageFormat("transaction_details", PayPalPage, PayPalTransaction)


class PayPalDisputedTransaction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    seller_transaction_id: str | None = None


class PayPalDisputeOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore")
    outcome_code: str | None = None


# How a resolved dispute ended for the merchant, by PayPal's outcome code
_OUTCOMES = {
    "RESOLVED_SELLER_FAVOUR": WON, "CANCELED_BY_BUYER": WON, "DENIED": WON,
    "RESOLVED_BUYER_FAVOUR": LOST, "RESOLVED_WITH_PAYOUT": LOST, "ACCEPTED": LOST,
}  # fmt: skip


class PayPalDispute(BaseModel):
    """A dispute as the Disputes API gives it: in a list a summary, by id with the transactions it concerns."""

    model_config = ConfigDict(extra="ignore")
    dispute_id: str = Field(min_length=1, max_length=255)
    create_time: AwareDatetime
    update_time: AwareDatetime
    reason: str | None = None
    status: str = Field(min_length=1)
    dispute_amount: PayPalMoney
    dispute_life_cycle_stage: str | None = None
    seller_response_due_date: AwareDatetime | None = None
    disputed_transactions: list[PayPalDisputedTransaction] = []
    dispute_outcome: PayPalDisputeOutcome | None = None

    def as_dispute(self) -> Dispute:
        money = self.dispute_amount
        payments = [t.seller_transaction_id for t in self.disputed_transactions if t.seller_transaction_id]
        return Dispute(
            "paypal", self.dispute_id, payments[0] if payments else None,
            to_minor(Decimal(money.value), money.currency_code), money.currency_code, self.reason, self.status,
            self.dispute_life_cycle_stage, self.seller_response_due_date, self.create_time.astimezone(UTC).date(),
            self.update_time,
            _OUTCOMES.get(self.dispute_outcome.outcome_code or "") if self.dispute_outcome else None,
        )  # fmt: skip


class PayPalLink(BaseModel):
    model_config = ConfigDict(extra="ignore")
    href: str
    rel: str


class PayPalDisputePage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: list[PayPalDispute] = []
    links: list[PayPalLink] = []

    def next_page_token(self) -> str | None:
        """The token of the next page, from the ``next`` link's query, if there is one."""
        for link in self.links:
            if link.rel == "next":
                tokens = parse_qs(urlparse(link.href).query).get("next_page_token")
                return tokens[0] if tokens else None
        return None


# The Transaction Search event codes of money recon reconciles beside payments (T00xx), and the movement each
# is. Every other code moves no money recon reconciles: a withdrawal (T04xx) is a payout, a hold for a dispute
# (T1110) and its release (T1111) are the balance's, never a sale's or the ledger's.
EVENT_KINDS = {
    "T1107": Kind.REFUND,  # payment refund, initiated by the merchant
    "T1106": Kind.CHARGEBACK,  # payment reversal, initiated by PayPal: funds withdrawn, judged as a chargeback
    "T1201": Kind.CHARGEBACK,
    "T1202": Kind.CHARGEBACK_REVERSAL,  # funds returned: the merchant won
    "T0106": Kind.DISPUTE_FEE,  # the chargeback processing fee
}


def event_kind(event_code: str) -> Kind | None:
    """The movement an event code records, or None for one recon does not reconcile as a transaction."""
    if event_code.startswith("T00"):
        return Kind.CHARGE
    return EVENT_KINDS.get(event_code)


class PayPalClient(SourceClient):
    """``key`` is the OAuth2 client id and ``secret`` the client secret."""

    name = "paypal"
    records_per_page = 500  # PayPal's maximum

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

    def probe(self) -> str:
        self._access_token(refresh=True)
        return "POST /v1/oauth2/token: an access token"

    def _get(self, path: str, params: dict[str, Any]) -> bytes:
        token = self._access_token()
        try:
            return self.http.request("GET", path, params=params, headers={"Authorization": f"Bearer {token}"})
        except Unauthorized:  # expired or revoked early: refresh once
            token = self._access_token(refresh=True)
            return self.http.request("GET", path, params=params, headers={"Authorization": f"Bearer {token}"})

    def streams(self, day: date) -> list[PageStream]:
        return [lambda s=s, e=e: self._pages(s, e) for s, e in day_windows(day, self.windows)]

    def _pages(self, start: datetime, end: datetime):
        params: dict[str, Any] = {
            "start_date": format_paypal_time(start), "end_date": format_paypal_time(end),
            "fields": "all", "page_size": self.records_per_page, "page": 1, "balance_affecting_records_only": "Y",
        }  # fmt: skip
        while True:
            page = self.read_page(self._get(PATH, params), FORMAT, PATH, params["page"])
            yield page
            if params["page"] >= _whole(page.field("total_pages", 0)):
                return
            params["page"] += 1

    def payouts(self, day: date) -> tuple[list[Payout], list[PayoutItem]]:
        """The day's withdrawals to the bank: a withdrawal arrives on the UTC date it was initiated, and lists
        no items."""
        payouts = []
        for info in self._events_of(day, WITHDRAWAL):
            if not info.transaction_event_code.startswith("T04"):
                continue
            money = info.transaction_amount
            amount = abs(to_minor(Decimal(money.value), money.currency_code))
            payouts.append(Payout("paypal", info.transaction_id, amount, money.currency_code,
                                  info.transaction_initiation_date.astimezone(UTC).date(),
                                  info.transaction_status in ("S", "P")))  # fmt: skip
        return payouts, []

    def holds(self, day: date) -> list[BalanceHold]:
        """The funds PayPal held on the day for a dispute (``T1110``) and those it released (``T1111``)."""
        return [
            BalanceHold(info.transaction_id, kind, to_minor(Decimal(info.transaction_amount.value),
                        info.transaction_amount.currency_code), info.transaction_amount.currency_code,
                        info.transaction_initiation_date.astimezone(UTC))
            for code, kind in HOLD_CODES.items() for info in self._events_of(day, code)
            if info.transaction_event_code == code
        ]  # fmt: skip

    def _events_of(self, day: date, code: str) -> Iterator[PayPalTransactionInfo]:
        """The day's transactions of one event code, page after page, each read whole."""
        start, end = day_bounds(day)
        params: dict[str, Any] = {
            "start_date": format_paypal_time(start), "end_date": format_paypal_time(end), "fields": "all",
            "transaction_type": code, "page_size": self.records_per_page, "page": 1,
        }  # fmt: skip
        while True:
            page = self.read_whole(self._get(PATH, params), PayPalPage, PATH)
            yield from (detail.transaction_info for detail in page.transaction_details)
            if params["page"] >= page.total_pages:
                return
            params["page"] += 1

    def disputes(self, day: date) -> list[Dispute]:
        """Every dispute updated on the day, each read by id for the payment it concerns (a list gives only a
        summary). A dispute whose status changes later is listed again on the day it changed."""
        start, end = day_bounds(day)
        params: dict[str, Any] = {
            "update_time_after": format_paypal_time(start),
            "update_time_before": format_paypal_time(end),
            "page_size": DISPUTES_PER_PAGE,
        }
        found = []
        while True:
            page = self.read_whole(self._get(DISPUTES, params), PayPalDisputePage, DISPUTES)
            for summary in page.items:
                path = f"{DISPUTES}/{summary.dispute_id}"
                found.append(self.read_whole(self._get(path, {}), PayPalDispute, path).as_dispute())
            token = page.next_page_token()
            if not token:
                return found
            params["next_page_token"] = token

    def record_id(self, raw: dict[str, Any]) -> str | None:
        info = raw.get("transaction_info")
        return info.get("transaction_id") if isinstance(info, dict) else None

    def canonical(self, records: list[PayPalTransaction], endpoint: str) -> Canonical:
        infos = [r.transaction_info for r in records]
        kinds = [event_kind(info.transaction_event_code) for info in infos]
        currencies = [info.transaction_amount.currency_code for info in infos]
        amounts, refused = minor_column([info.transaction_amount.value for info in infos], currencies)
        fees, fee_refused = minor_column([info.fee_amount.value if info.fee_amount else None for info in infos],
                                         currencies)  # fmt: skip
        refused |= fee_refused | wrong_sign(kinds, amounts)
        columns = {
            "processor_txn_id": [info.transaction_id for info in infos],
            "kind": kinds,
            "amount_minor": amounts,
            "currency": currencies,
            "fee_minor": np.abs(fees),
            "status": [_STATUS[info.transaction_status] for info in infos],
            "occurred_at": [info.transaction_initiation_date for info in infos],  # aware: stored in UTC
            "order_reference": [info.invoice_id for info in infos],
        }
        skipped = np.array([kind is None for kind in kinds], dtype=bool)
        return Canonical(columns, {i: why for i, why in refused.items() if not skipped[i]}, skipped)


def _whole(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

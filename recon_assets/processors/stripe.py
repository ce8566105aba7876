"""Stripe: ``GET /v1/charges``, ``GET /v1/refunds`` and the disputes' money (``GET /v1/balance_transactions``,
``type=adjustment``), newest first, cursor ``starting_after``; the cash side from ``GET /v1/payouts`` (by arrival
date) and each automatic payout's ``GET /v1/balance_transactions``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recon_assets.domain.money import exponent
from recon_assets.domain.records import BIGINT, Canonical, Currency, Kind, MinorUnits, Status, wrong_sign
from recon_assets.domain.settlement import (
    ADJUSTMENT,
    CHARGE,
    CHARGEBACK,
    CHARGEBACK_REVERSAL,
    OTHER,
    REFUND,
    Payout,
    PayoutItem,
)
from recon_assets.processors.base import (
    BrokenEnvelope,
    PageFormat,
    PageStream,
    SourceClient,
    day_bounds,
    day_windows,
)

# Stripe's smallest-unit amounts differ from ISO 4217 for a few currencies (Stripe's currency docs):
# ISK is sent with two decimals, MGA with none.
STRIPE_AMOUNT_EXPONENTS = {"ISK": 2, "MGA": 0}


class StripeMetadata(BaseModel):
    """The merchant's own keys on an object; ``order_id`` names the order a charge paid."""

    model_config = ConfigDict(extra="ignore")
    order_id: str | None = None


class StripeCharge(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: Literal["charge"]
    amount: MinorUnits
    currency: Currency
    created: int
    status: Literal["succeeded", "pending", "failed"]
    refunded: bool = False
    metadata: StripeMetadata | None = None


class StripeRefund(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: Literal["refund"]
    amount: MinorUnits
    currency: Currency
    created: int
    status: Literal["pending", "requires_action", "succeeded", "failed", "canceled"]
    metadata: StripeMetadata | None = None


class StripeChargeList(BaseModel):
    data: list[StripeCharge]
    has_more: bool


class StripeRefundList(BaseModel):
    data: list[StripeRefund]
    has_more: bool


class StripeTrace(BaseModel):
    status: str | None = None
    value: str | None = None


class StripePayout(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: Literal["payout"]
    amount: MinorUnits
    currency: Currency
    arrival_date: int
    status: Literal["paid", "pending", "in_transit", "canceled", "failed"]
    automatic: bool = True
    trace_id: StripeTrace | None = None


class StripeBalanceTransaction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    amount: MinorUnits
    fee: MinorUnits
    net: MinorUnits
    currency: Currency
    type: str
    reporting_category: str | None = None
    source: str | None = None
    created: int | None = None
    # set when Stripe converted the movement: amount, fee and net are then in the balance's currency, settled
    exchange_rate: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)


class StripePayoutList(BaseModel):
    data: list[StripePayout]
    has_more: bool


class StripeBalanceTransactionList(BaseModel):
    data: list[StripeBalanceTransaction]
    has_more: bool


_PAYOUT_ARRIVES = ("paid", "pending", "in_transit")  # failed and canceled payouts never reach the bank
_ITEM_KIND = {"charge": CHARGE, "payment": CHARGE, "refund": REFUND, "payment_refund": REFUND, "adjustment": ADJUSTMENT}
# a dispute's balance transactions, by reporting category: the funds withdrawn (the dispute fee in ``fee``),
# and the funds reinstated
_DISPUTE_ITEM_KIND = {"dispute": CHARGEBACK, "dispute_reversal": CHARGEBACK_REVERSAL}


def item_kind(t: StripeBalanceTransaction) -> str:
    """What a balance transaction in a payout settled."""
    return _DISPUTE_ITEM_KIND.get(t.reporting_category or "") or _ITEM_KIND.get(t.type, OTHER)


BALANCE_TRANSACTIONS = "/v1/balance_transactions"
FORMATS = {
    "/v1/charges": PageFormat("data", StripeChargeList, StripeCharge),
    "/v1/refunds": PageFormat("data", StripeRefundList, StripeRefund),
    # a dispute's money: the balance's adjustments whose source is a dispute
    BALANCE_TRANSACTIONS: PageFormat("data", StripeBalanceTransactionList, StripeBalanceTransaction),
}
_FILTERS = {BALANCE_TRANSACTIONS: {"type": "adjustment"}}

_REFUND_STATUS = {
    "succeeded": Status.SUCCEEDED, "pending": Status.PENDING, "requires_action": Status.PENDING,
    "failed": Status.FAILED, "canceled": Status.FAILED,
}  # fmt: skip


def stripe_shift(currency: str) -> int:
    """How many more decimals Stripe's smallest unit has than ISO 4217's for ``currency``."""
    return STRIPE_AMOUNT_EXPONENTS.get(currency, exponent(currency)) - exponent(currency)


class StripeClient(SourceClient):
    """``key`` is the secret API key."""

    name = "stripe"
    records_per_page = 100  # Stripe's maximum

    def streams(self, day: date) -> list[PageStream]:
        return [
            (lambda path=path, start=start, end=end: self._pages(path, start, end))
            for start, end in day_windows(day, self.windows)
            for path in FORMATS
        ]

    def _pages(self, path: str, start: datetime, end: datetime):
        params: dict[str, Any] = {
            "created[gte]": int(start.timestamp()), "created[lt]": int(end.timestamp()), "limit": self.records_per_page,
            **_FILTERS.get(path, {}),
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

    def payouts(self, day: date) -> tuple[list[Payout], list[PayoutItem]]:
        start, end = day_bounds(day)
        listed = self._list("/v1/payouts", StripePayoutList, {"arrival_date[gte]": int(start.timestamp()),
                                                              "arrival_date[lt]": int(end.timestamp())})  # fmt: skip
        payouts, items = [], []
        for p in listed:
            trace = p.trace_id.value if p.trace_id else None
            payouts.append(Payout("stripe", p.id, _iso(p.amount, p.currency), p.currency,
                                  datetime.fromtimestamp(p.arrival_date, tz=UTC).date(), p.status in _PAYOUT_ARRIVES,
                                  trace or None, itemised=p.automatic))  # fmt: skip
            if not p.automatic:  # Stripe lists the balance transactions of automatic payouts only
                continue
            for t in self._list("/v1/balance_transactions", StripeBalanceTransactionList, {"payout": p.id}):
                if t.type == "payout":  # the payout's own transaction, not one it settles
                    continue
                kind = item_kind(t)
                items.append(PayoutItem(
                    p.id, t.source if kind not in (OTHER, ADJUSTMENT) else None, _iso(t.net, t.currency), kind,
                    _iso(t.amount, t.currency), _iso(t.fee, t.currency), t.id,
                    datetime.fromtimestamp(t.created, tz=UTC) if t.created is not None else None, t.exchange_rate,
                ))  # fmt: skip
        return payouts, items

    def probe(self) -> str:
        body = self.http.request_json("GET", "/v1/balance", headers={"Authorization": f"Bearer {self.key}"})
        if not isinstance(body, dict) or body.get("object") != "balance":
            raise BrokenEnvelope(self.name, "/v1/balance", 200, "the response is not a balance")
        return "GET /v1/balance: the account's balance"

    def _list(self, path: str, model, params: dict[str, Any]) -> list:
        """Every object of a Stripe list, page after page."""
        params = {**params, "limit": self.records_per_page}
        headers = {"Authorization": f"Bearer {self.key}"}
        found = []
        while True:
            page = self.read_whole(self.http.request("GET", path, params=params, headers=headers), model, path)
            found += page.data
            if not page.has_more or not page.data:
                return found
            params["starting_after"] = page.data[-1].id

    def canonical(self, records: list, endpoint: str) -> Canonical:
        if endpoint == BALANCE_TRANSACTIONS:
            return dispute_movements(records)
        count, is_refund = len(records), endpoint == "/v1/refunds"
        currencies = [r.currency for r in records]
        amounts = np.fromiter((r.amount for r in records), np.int64, count)
        shifts = {currency: stripe_shift(currency) for currency in set(currencies)}
        refused: dict[int, str] = {}
        for i in (i for i, currency in enumerate(currencies) if shifts[currency]):  # ISK, MGA: not ISO's unit
            iso = _iso(int(amounts[i]), currencies[i])
            if BIGINT[0] <= iso <= BIGINT[1]:
                amounts[i] = iso
            else:
                refused[i] = f"an amount no bigint holds ({iso} minor units)"
        kinds = [Kind.REFUND if is_refund else Kind.CHARGE] * count
        if is_refund:
            amounts = -amounts
            statuses = [_REFUND_STATUS[r.status] for r in records]
        else:
            statuses = [Status.REFUNDED if r.refunded and r.status == "succeeded" else r.status for r in records]
        refused |= wrong_sign(kinds, amounts)
        columns = {
            "processor_txn_id": [r.id for r in records],
            "kind": kinds,
            "amount_minor": amounts,
            "currency": currencies,
            "fee_minor": [0] * count,  # Stripe reports fees on balance transactions, not on charges
            "status": statuses,
            "occurred_at": np.fromiter((r.created for r in records), np.int64, count).astype("datetime64[s]"),
            "order_reference": [r.metadata.order_id if r.metadata else None for r in records],
        }
        return Canonical(columns, refused)


def dispute_movements(transactions: list[StripeBalanceTransaction]) -> Canonical:
    """The money disputes moved, from the balance's adjustments: a withdrawal (``dispute``) is a chargeback
    and, where Stripe took a fee, a dispute fee; a reinstatement (``dispute_reversal``) a chargeback reversal;
    each named by the dispute (``dp_…``). Any other adjustment is skipped."""
    origins, kinds, amounts = [], [], []
    for i, t in enumerate(transactions):
        kind = _DISPUTE_ITEM_KIND.get(t.reporting_category or "") if (t.source or "").startswith("dp_") else None
        origins.append(i), kinds.append(kind), amounts.append(_iso(t.amount, t.currency))
        if kind is not None and t.fee:  # the fee Stripe took for the dispute, in the same transaction
            origins.append(i), kinds.append(Kind.DISPUTE_FEE), amounts.append(-_iso(t.fee, t.currency))
    made = [transactions[i] for i in origins]
    amounts = np.array(amounts, dtype=np.int64)
    skipped = np.array([kind is None for kind in kinds], dtype=bool)
    refused = {i: why for i, why in wrong_sign(kinds, amounts).items() if not skipped[i]}
    refused |= {i: "a dispute's movement with no time" for i, t in enumerate(made) if t.created is None}
    columns = {
        "processor_txn_id": [t.source for t in made],
        "kind": kinds,
        "amount_minor": amounts,
        "currency": [t.currency for t in made],
        "fee_minor": [0] * len(made),  # a dispute's fee is a movement of its own
        "status": [Status.SUCCEEDED] * len(made),
        "occurred_at": np.array([t.created or 0 for t in made], dtype=np.int64).astype("datetime64[s]"),
        "order_reference": [None] * len(made),
    }
    return Canonical(columns, refused, skipped, np.array(origins, dtype=np.int64))


def _iso(amount: int, currency: str) -> int:
    """A Stripe smallest-unit amount in ISO 4217 minor units."""
    shift = stripe_shift(currency)
    return amount // 10**shift if shift > 0 else amount * 10**-shift


def _last_id(page) -> str | None:
    """The id of the page's last entry that has one, valid or not."""
    last_valid = page.records[-1][1].id if page.records else None
    last_position = page.records[-1][0] if page.records else -1
    for position, raw, _ in reversed(page.rejected):
        if position > last_position and isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
            return raw["id"]
    return last_valid

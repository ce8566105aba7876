"""Stripe: ``GET /v1/charges``, ``GET /v1/refunds`` and the disputes' money (``GET /v1/balance_transactions``,
``type=adjustment``), newest first, cursor ``starting_after``; the cash side from ``GET /v1/payouts`` (by arrival
date) and each automatic payout's ``GET /v1/balance_transactions``; the disputes from the day's dispute events
(``GET /v1/events``) and ``GET /v1/disputes``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recon_assets.domain.disputes import LOST, WON, Dispute
from recon_assets.domain.money import exponent
from recon_assets.domain.records import (
    BIGINT,
    Canonical,
    Currency,
    Kind,
    MinorUnits,
    Status,
    dispute_canonical,
    wrong_sign,
)
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


class StripeMovedFor(BaseModel):
    """What a balance transaction moved money for, expanded (``expand[]=data.source``): a dispute's amount and
    currency are the disputed payment's, as presented, before any conversion."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: str
    amount: MinorUnits | None = None
    currency: Currency | None = None


class StripeAdjustment(StripeBalanceTransaction):
    """A balance adjustment, listed with what it moved money for."""

    source: StripeMovedFor | str | None = None


class StripeAdjustmentList(BaseModel):
    data: list[StripeAdjustment]
    has_more: bool


class StripePayoutList(BaseModel):
    data: list[StripePayout]
    has_more: bool


class StripeBalanceTransactionList(BaseModel):
    data: list[StripeBalanceTransaction]
    has_more: bool


class StripeEvidenceDetails(BaseModel):
    model_config = ConfigDict(extra="ignore")
    due_by: int | None = None


class StripeCard(BaseModel):
    model_config = ConfigDict(extra="ignore")
    case_type: str | None = None  # chargeback, inquiry, compliance


class StripePaymentMethodDetails(BaseModel):
    model_config = ConfigDict(extra="ignore")
    card: StripeCard | None = None


class StripeDispute(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    object: Literal["dispute"]
    amount: MinorUnits
    currency: Currency
    charge: str | None = None
    created: int
    reason: str | None = None
    status: str = Field(min_length=1)
    evidence_details: StripeEvidenceDetails | None = None
    payment_method_details: StripePaymentMethodDetails | None = None
    balance_transactions: list[StripeBalanceTransaction] = []

    def as_dispute(self, updated_at: datetime) -> Dispute:
        """The dispute as it stood at ``updated_at``."""
        due = self.evidence_details.due_by if self.evidence_details else None
        card = self.payment_method_details.card if self.payment_method_details else None
        return Dispute(
            "stripe", self.id, self.charge, _iso(self.amount, self.currency), self.currency, self.reason, self.status,
            card.case_type if card else None, None if due is None else datetime.fromtimestamp(due, tz=UTC),
            datetime.fromtimestamp(self.created, tz=UTC).date(), updated_at, _OUTCOMES.get(self.status),
        )  # fmt: skip

    def last_moved(self) -> datetime:
        """When the dispute last changed as far as the object shows: its creation or its latest money movement."""
        moments = [self.created, *(t.created for t in self.balance_transactions if t.created is not None)]
        return datetime.fromtimestamp(max(moments), tz=UTC)


class StripeDisputeList(BaseModel):
    data: list[StripeDispute]
    has_more: bool


class StripeEventData(BaseModel):
    object: StripeDispute


class StripeDisputeEvent(BaseModel):
    """A change of a dispute (``charge.dispute.*``): the dispute as it stood when the event happened."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    type: str
    created: int
    data: StripeEventData


class StripeDisputeEventList(BaseModel):
    data: list[StripeDisputeEvent]
    has_more: bool


_OUTCOMES = {"won": WON, "lost": LOST}  # Stripe's final statuses; ``warning_closed`` and ``prevented`` moved no money
DISPUTE_EVENTS = "charge.dispute.*"  # created, updated, closed, funds withdrawn and reinstated
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
    BALANCE_TRANSACTIONS: PageFormat("data", StripeAdjustmentList, StripeAdjustment),
}
_FILTERS = {BALANCE_TRANSACTIONS: {"type": "adjustment", "expand[]": "data.source"}}

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

    def disputes(self, day: date) -> list[Dispute]:
        """Every dispute that changed on the day, as it stood after its last change that day (from the day's
        ``charge.dispute.*`` events: the disputes list filters on creation only), and every dispute opened on
        the day. Stripe keeps events for 30 days: a day older than that gives the disputes opened on it, as they
        stand now, dated by their last money movement."""
        start, end = day_bounds(day)
        created = {"created[gte]": int(start.timestamp()), "created[lt]": int(end.timestamp())}
        latest: dict[str, tuple[int, StripeDispute]] = {}
        for event in self._list("/v1/events", StripeDisputeEventList, {**created, "type": DISPUTE_EVENTS}):
            dispute = event.data.object
            if event.created >= latest.get(dispute.id, (-1, None))[0]:
                latest[dispute.id] = (event.created, dispute)
        found = {i: d.as_dispute(datetime.fromtimestamp(at, tz=UTC)) for i, (at, d) in latest.items()}
        for dispute in self._list("/v1/disputes", StripeDisputeList, created):
            found.setdefault(dispute.id, dispute.as_dispute(dispute.last_moved()))
        return list(found.values())

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


def dispute_movements(transactions: list[StripeAdjustment]) -> Canonical:
    """The money disputes moved, from the balance's adjustments: a withdrawal (``dispute``) is a chargeback
    and, where Stripe took a fee, a dispute fee; a reinstatement (``dispute_reversal``) a chargeback reversal;
    each named by the dispute (``dp_…``). Any other adjustment is skipped. A converted withdrawal or
    reinstatement is the dispute's amount in the payment's currency, as the ledger books the payment; its fee
    stays in the balance's currency."""
    moves, references, currencies = [], [], []
    for i, t in enumerate(transactions):
        moved_for = None if t.source is None or isinstance(t.source, str) else t.source
        reference = moved_for.id if moved_for is not None else t.source
        kind = _DISPUTE_ITEM_KIND.get(t.reporting_category or "") if (reference or "").startswith("dp_") else None
        amount, currency = t.amount, t.currency
        converted = kind is not None and t.exchange_rate is not None and moved_for is not None
        if converted and moved_for.amount is not None and moved_for.currency:
            amount, currency = abs(moved_for.amount) * (1 if t.amount > 0 else -1), moved_for.currency
        moves.append((i, kind, _iso(amount, currency)))
        references.append(reference)
        currencies.append(currency)
        if kind is not None and t.fee:  # the fee Stripe took for the dispute, in the same transaction
            moves.append((i, Kind.DISPUTE_FEE, -_iso(t.fee, t.currency)))
            references.append(reference)
            currencies.append(t.currency)
    made = [transactions[i] for i, _, _ in moves]
    times = np.array([t.created or 0 for t in made], dtype=np.int64).astype("datetime64[s]")
    no_time = {i: "a dispute's movement with no time" for i, t in enumerate(made) if t.created is None}
    return dispute_canonical(moves, references, currencies, times, no_time)


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

"""Square: ``GET /v2/payments`` per location (it defaults to one), ``GET /v2/refunds`` and the money disputes
moved, from ``GET /v2/disputes`` (every dispute of the account, with its state: no date filter); the cash side from
``GET /v2/payouts`` per location and each payout's ``GET /v2/payouts/{id}/payout-entries``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from recon_assets.domain.disputes import LOST, WON, Dispute
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
    HOLD,
    HOLD_RELEASE,
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
    amount: MinorUnits
    # the schema says currency; the payouts reference's own examples write currency_code: either is read
    currency: Currency = Field(validation_alias=AliasChoices("currency", "currency_code"))


class SquareFee(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount_money: SquareMoney


class SquarePayment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    created_at: AwareDatetime
    amount_money: SquareMoney
    status: Literal["COMPLETED", "APPROVED", "PENDING", "CANCELED", "FAILED"]
    processing_fee: list[SquareFee] | None = None
    order_id: str | None = None  # the order the payment paid (several payments may pay one)


class SquareRefund(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    created_at: AwareDatetime
    amount_money: SquareMoney
    status: Literal["COMPLETED", "PENDING", "REJECTED", "FAILED"]
    processing_fee: list[SquareFee] | None = None
    payment_id: str | None = None
    order_id: str | None = None


class SquarePayments(BaseModel):
    payments: list[SquarePayment] = []
    cursor: str | None = None


class SquareRefunds(BaseModel):
    refunds: list[SquareRefund] = []
    cursor: str | None = None


class SquarePaymentRef(BaseModel):
    payment_id: str | None = None
    refund_id: str | None = None
    dispute_id: str | None = None


class SquarePayout(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    status: Literal["SENT", "FAILED", "PAID"] | None = None
    location_id: str
    created_at: AwareDatetime
    amount_money: SquareMoney
    arrival_date: date | None = None
    end_to_end_id: str | None = None


class SquarePayoutEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    payout_id: str
    effective_at: AwareDatetime | None = None
    type: str | None = None
    gross_amount_money: SquareMoney | None = None
    fee_amount_money: SquareMoney | None = None
    net_amount_money: SquareMoney | None = None
    type_charge_details: SquarePaymentRef | None = None
    type_refund_details: SquarePaymentRef | None = None
    type_open_dispute_details: SquarePaymentRef | None = None
    type_dispute_details: SquarePaymentRef | None = None


class SquarePayouts(BaseModel):
    payouts: list[SquarePayout] = []
    cursor: str | None = None


class SquarePayoutEntries(BaseModel):
    payout_entries: list[SquarePayoutEntry] = []
    cursor: str | None = None


class SquareDispute(BaseModel):
    """A dispute as Square lists it: its state, and when it opened and was last updated."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255, validation_alias=AliasChoices("dispute_id", "id"))
    amount_money: SquareMoney
    reason: str | None = None
    state: Literal[
        "INQUIRY_EVIDENCE_REQUIRED", "INQUIRY_PROCESSING", "INQUIRY_CLOSED", "EVIDENCE_REQUIRED", "PROCESSING",
        "WON", "LOST", "ACCEPTED",
    ]  # fmt: skip
    due_at: AwareDatetime | None = None
    disputed_payment: SquarePaymentRef | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime

    def as_dispute(self) -> Dispute:
        return Dispute(
            "square", self.id, self.disputed_payment.payment_id if self.disputed_payment else None,
            self.amount_money.amount, self.amount_money.currency, self.reason, self.state,
            "inquiry" if _inquiry(self.state) else "chargeback", self.due_at, self.created_at.astimezone(UTC).date(),
            self.updated_at.astimezone(UTC), _OUTCOMES.get(self.state),
        )  # fmt: skip


class SquareDisputes(BaseModel):
    disputes: list[SquareDispute] = []
    cursor: str | None = None


def _inquiry(state: str) -> bool:
    """An inquiry moves no money: the card network asks, the cardholder has not charged back."""
    return state.startswith("INQUIRY_")


DISPUTES = "/v2/disputes"
DISPUTE_STATES = ("INQUIRY_EVIDENCE_REQUIRED", "INQUIRY_PROCESSING", "INQUIRY_CLOSED", "EVIDENCE_REQUIRED",
                  "PROCESSING", "WON", "LOST", "ACCEPTED")  # every state: the list has no date filter  # fmt: skip
_OUTCOMES = {"WON": WON, "LOST": LOST, "ACCEPTED": LOST}
PAYOUTS_CREATED_BEFORE_ARRIVAL = timedelta(days=7)  # Square lists payouts by creation; they arrive within days


# Square leaves the list out of an empty page ({} or just a cursor)
FORMATS = {
    "/v2/payments": PageFormat("payments", SquarePayments, SquarePayment, optional=True),
    "/v2/refunds": PageFormat("refunds", SquareRefunds, SquareRefund, optional=True),
    DISPUTES: PageFormat("disputes", SquareDisputes, SquareDispute, optional=True),
}


class SquareClient(SourceClient):
    """``key`` is the access token."""

    name = "square"
    records_per_page = 100  # Square's maximum for payments

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

    def probe(self) -> str:
        count = len(self.location_ids())
        return f"GET /v2/locations: {count} location{'s' * (count != 1)}"

    def streams(self, day: date) -> list[PageStream]:
        windows = day_windows(day, self.windows)
        payments = [
            lambda s=s, e=e, loc=loc: self._pages("/v2/payments", s, e, loc)
            for loc in self.location_ids()
            for s, e in windows
        ]
        refunds = [lambda s=s, e=e: self._pages("/v2/refunds", s, e, None) for s, e in windows]
        return [*payments, *refunds, self._dispute_pages]

    def _dispute_pages(self):
        """Every dispute of the account (the list has no date filter): the day's money is picked from them."""
        params: dict[str, Any] = {"states": ",".join(DISPUTE_STATES)}
        for number in itertools.count(1):
            page = self.read_page(self.http.request("GET", DISPUTES, params=params, headers=self._headers),
                                  FORMATS[DISPUTES], DISPUTES, number)  # fmt: skip
            yield page
            if not page.field("cursor"):
                return
            params["cursor"] = page.field("cursor")

    def disputes(self, day: date) -> list[Dispute]:
        """Every dispute updated on the day, as it stands: the list gives every dispute of the account with its
        state and last update (no date filter)."""
        start, end = day_bounds(day)
        listed = self._list(DISPUTES, SquareDisputes, "disputes", {"states": ",".join(DISPUTE_STATES)})
        return [d.as_dispute() for d in listed if start <= d.updated_at < end]

    def _pages(self, path: str, start: datetime, end: datetime, location_id: str | None):
        params: dict[str, Any] = {
            "begin_time": rfc3339(start), "end_time": rfc3339(end), "sort_order": "ASC", "limit": self.records_per_page,
        }  # fmt: skip
        if location_id:
            params["location_id"] = location_id
        for number in itertools.count(1):
            body = self.http.request("GET", path, params=params, headers=self._headers)
            page = self.read_page(body, FORMATS[path], path, number)
            yield page
            cursor = page.field("cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    def payouts(self, day: date) -> tuple[list[Payout], list[PayoutItem]]:
        start, end = day_bounds(day)
        payouts, items = [], []
        for location in self.location_ids():
            window = {"location_id": location, "begin_time": rfc3339(start - PAYOUTS_CREATED_BEFORE_ARRIVAL),
                      "end_time": rfc3339(end)}  # fmt: skip
            for p in self._list("/v2/payouts", SquarePayouts, "payouts", window):
                if p.arrival_date != day:
                    continue
                money = p.amount_money
                payouts.append(Payout("square", p.id, money.amount, money.currency, day, p.status != "FAILED",
                                      p.end_to_end_id or None, itemised=True))  # fmt: skip
                for e in self._list(f"/v2/payouts/{p.id}/payout-entries", SquarePayoutEntries, "payout_entries", {}):
                    items.append(_payout_item(p.id, e))
        return payouts, items

    def _list(self, path: str, model, key: str, params: dict[str, Any]) -> list:
        """Every object of a Square list, cursor after cursor."""
        params = {**params, "limit": self.records_per_page}
        found = []
        while True:
            page = self.read_whole(self.http.request("GET", path, params=params, headers=self._headers), model, path)
            found += getattr(page, key)
            if not page.cursor:
                return found
            params["cursor"] = page.cursor

    def canonical(self, records: list, endpoint: str) -> Canonical:
        if endpoint == DISPUTES:
            return dispute_movements(records)
        count, is_refund = len(records), endpoint == "/v2/refunds"
        amounts = np.fromiter((r.amount_money.amount for r in records), np.int64, count)
        amounts = -amounts if is_refund else amounts
        kinds = [Kind.REFUND if is_refund else Kind.CHARGE] * count
        fees = [sum(f.amount_money.amount for f in r.processing_fee) if r.processing_fee else 0 for r in records]
        refused = wrong_sign(kinds, amounts)
        refused |= {i: f"an amount no bigint holds ({fee} minor units)" for i, fee in enumerate(fees)
                    if not BIGINT[0] <= fee <= BIGINT[1]}  # fmt: skip
        statuses = _REFUND_STATUS if is_refund else _PAYMENT_STATUS
        columns = {
            "processor_txn_id": [r.id for r in records],
            "kind": kinds,
            "amount_minor": amounts,
            "currency": [r.amount_money.currency for r in records],
            "fee_minor": [fee if i not in refused else 0 for i, fee in enumerate(fees)],
            "status": [statuses[r.status] for r in records],
            "occurred_at": [r.created_at for r in records],  # aware: the layout stores it in UTC
            "order_reference": [r.order_id for r in records],
        }
        return Canonical(columns, refused)


def dispute_movements(disputes: list[SquareDispute]) -> Canonical:
    """The money disputes moved, named by the dispute: withdrawn when it opened (an inquiry moves none), and
    returned when it was won. Those of other days are left out by the day's filter. (The records are the
    model's fields, read fast: no methods.)"""
    moves, times = [], []
    for i, d in enumerate(disputes):
        amount = d.amount_money.amount
        moved = [] if _inquiry(d.state) else [(Kind.CHARGEBACK, -amount, d.created_at)]
        if d.state == "WON":
            moved.append((Kind.CHARGEBACK_REVERSAL, amount, d.updated_at))
        for kind, signed, at in moved or [(None, 0, d.created_at)]:
            moves.append((i, kind, signed))
            times.append(at)
    made = [disputes[i] for i, _, _ in moves]
    return dispute_canonical(moves, [d.id for d in made], [d.amount_money.currency for d in made], times)


# Square's entry types beside payments, refunds and disputes, and what each settled
_ENTRY_KIND = {"HOLD_ADJUSTMENT": HOLD, "RELEASE_ADJUSTMENT": HOLD_RELEASE, "OTHER_ADJUSTMENT": ADJUSTMENT}


def _payout_item(payout_id: str, entry: SquarePayoutEntry) -> PayoutItem:
    """One payout entry: a payment (CHARGE) or a refund it settled; money a dispute moved, named by the
    dispute (withdrawn, or returned when its net is positive; Square charges no dispute fee); a hold on the
    balance and its release; an adjustment; or anything else (a fee)."""
    amounts = [(m.amount if m else 0) for m in (entry.gross_amount_money, entry.fee_amount_money,
                                                 entry.net_amount_money)]  # fmt: skip
    gross, fee, net = amounts
    at = entry.effective_at.astimezone(UTC) if entry.effective_at else None
    if entry.type == "CHARGE" and entry.type_charge_details:
        return PayoutItem(payout_id, entry.type_charge_details.payment_id, net, CHARGE, gross, fee, entry.id, at)
    if entry.type == "REFUND" and entry.type_refund_details:
        return PayoutItem(payout_id, entry.type_refund_details.refund_id, net, REFUND, gross, fee, entry.id, at)
    dispute = entry.type_open_dispute_details or entry.type_dispute_details
    if entry.type in ("OPEN_DISPUTE", "DISPUTE") and dispute:
        kind = CHARGEBACK_REVERSAL if net > 0 else CHARGEBACK
        return PayoutItem(payout_id, dispute.dispute_id, net, kind, gross, fee, entry.id, at)
    return PayoutItem(payout_id, None, net, _ENTRY_KIND.get(entry.type or "", OTHER), gross, fee, entry.id, at)

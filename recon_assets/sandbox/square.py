"""Square's sandbox: locations, payments (per location) and refunds, the account's disputes, payouts per location
and each payout's entries, behind an access token, paged by cursor."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from recon_assets.sandbox.disputes import SandboxDispute
from recon_assets.sandbox.endpoints import Credentials, HttpError, Routes, days, instant, integer, json_list, window
from recon_assets.sandbox.endpoints import offset as read_offset
from recon_assets.sandbox.endpoints import token as next_token
from recon_assets.sandbox.settlement import LOOKBACK_DAYS, SandboxPayout
from recon_assets.sandbox.world import SQUARE_LOCATIONS, Movement, SandboxConfig, disputes_of, square_dispute_days

if TYPE_CHECKING:
    from recon_assets.sandbox.server import SandboxApi

CREDENTIALS = Credentials("recon-sandbox-square-token")
_UNAUTHORIZED = {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
                             "detail": "This request could not be authorized."}]}  # fmt: skip

_PAYMENT_STATUS = {"succeeded": "COMPLETED", "pending": "APPROVED", "failed": "FAILED"}
_REFUND_STATUS = {"succeeded": "COMPLETED", "pending": "PENDING", "failed": "FAILED"}


def encode(m: Movement, currency: str | None = None, compact: bool = False) -> dict[str, Any]:
    """A payment or refund as Square lists it (``compact`` is PayPal's: unused)."""
    currency = currency or m.currency
    stamp = m.created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    money = {"amount": abs(m.amount_minor), "currency": currency}
    fee = [{"effective_at": stamp, "type": "INITIAL", "amount_money": {"amount": m.fee_minor, "currency": currency}}]
    if m.kind == "refund":
        return {
            "id": m.txn_id, "status": _REFUND_STATUS[m.status], "location_id": m.location_id,
            "amount_money": money, "payment_id": m.parent_id, "reason": "Sandbox refund",
            "created_at": stamp, "updated_at": stamp,
        }  # fmt: skip
    payment = {
        "id": m.txn_id, "created_at": stamp, "updated_at": stamp, "amount_money": money,
        "total_money": money, "approved_money": money, "status": _PAYMENT_STATUS[m.status],
        "source_type": "CARD", "location_id": m.location_id, "order_id": m.order_id or m.txn_id[::-1],
        "receipt_number": m.txn_id[:4], "version_token": m.txn_id[-8:],
        "card_details": {"status": "CAPTURED" if m.status == "succeeded" else "FAILED",
                         "card": {"card_brand": "VISA", "last_4": "1111"}, "entry_method": "KEYED"},
    }  # fmt: skip
    if m.fee_minor:
        payment["processing_fee"] = fee
    return payment


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payout_object(p: SandboxPayout) -> dict[str, Any]:
    return {
        "id": p.payout_id, "status": "FAILED" if p.failed else "PAID", "location_id": p.location_id,
        "created_at": _timestamp(p.created), "updated_at": _timestamp(p.created),
        "amount_money": {"amount": p.amount_minor, "currency": p.currency},
        "destination": {"type": "BANK_ACCOUNT", "id": "bact:ReconSandboxBank01"}, "version": 1, "type": "BATCH",
        "arrival_date": p.arrival_date.isoformat(), "end_to_end_id": p.trace,
    }  # fmt: skip


def payout_entry_objects(p: SandboxPayout) -> list[dict[str, Any]]:
    def money(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": p.currency}

    entries = []
    for i in p.items:
        entry = {
            "id": i.item_id, "payout_id": p.payout_id, "effective_at": _timestamp(i.created),
            "type": i.kind.upper(), "gross_amount_money": money(i.gross_minor), "fee_amount_money": money(i.fee_minor),
            "net_amount_money": money(i.net_minor),
        }  # fmt: skip
        if i.kind == "refund":
            entry["type_refund_details"] = {"payment_id": i.parent_id, "refund_id": i.txn_id}
        else:
            entry["type_charge_details"] = {"payment_id": i.txn_id}
        entries.append(entry)
    return entries


def dispute_object(d: SandboxDispute) -> dict[str, Any]:
    """A dispute as Square lists it: its state, and when it opened and was last updated."""
    body = {
        "dispute_id": d.dispute_id, "id": d.dispute_id,
        "amount_money": {"amount": d.amount_minor, "currency": d.currency}, "reason": d.reason, "state": d.status,
        "disputed_payment": {"payment_id": d.payment_id}, "evidence_ids": [], "card_brand": "VISA",
        "created_at": _timestamp(d.created), "updated_at": _timestamp(d.updated),
        "brand_dispute_id": d.dispute_id[-12:], "reported_date": d.created.date().isoformat(),
        "reported_at": _timestamp(d.created), "version": 1 if d.created == d.updated else 2,
        "location_id": SQUARE_LOCATIONS[0],
    }  # fmt: skip
    if d.due_by is not None:
        body["due_at"] = _timestamp(d.due_by)
    return body


@functools.lru_cache(maxsize=4)
def _account_disputes(config: SandboxConfig, days_listed: tuple[date, ...]) -> list[tuple[str, bytes]]:
    """Every dispute of the account, oldest first: (state, the dispute as listed)."""
    found = [d for day in days_listed for d in disputes_of(config, "square", day).disputes]
    found.sort(key=lambda d: (d.created, d.dispute_id))
    return [(d.status, orjson.dumps(dispute_object(d))) for d in found]


def disputes(api: SandboxApi, params, headers) -> dict[str, Any]:
    """The account's disputes in the states asked for (all when none is), oldest first: no date filter."""
    api.bearer(headers, CREDENTIALS.key, _UNAUTHORIZED)
    states = {s for s in params.get("states", "").split(",") if s}
    listed = _account_disputes(api.config, tuple(square_dispute_days()))
    return _page(params, "disputes", [body for state, body in listed if not states or state in states])


def _page(params, key: str, objects: list) -> dict[str, Any]:
    """A page of ``objects`` under ``key`` (left out when empty, as Square does), and the cursor to the next."""
    limit = integer(params, "limit", 100, 1, 100)
    first = read_offset(params.get("cursor"))
    chunk = objects[first : first + limit]
    body: dict[str, Any] = {key: json_list(chunk) if chunk and isinstance(chunk[0], bytes) else chunk} if chunk else {}
    if first + limit < len(objects):
        body["cursor"] = next_token(first + limit)
    return body


def locations(api: SandboxApi, params, headers) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _UNAUTHORIZED)
    return {"locations": [
        {"id": loc, "name": f"Sandbox store {i + 1}", "timezone": "UTC", "status": "ACTIVE",
         "country": "US", "currency": "USD", "merchant_id": "MLSANDBOX", "type": "PHYSICAL",
         "capabilities": ["CREDIT_CARD_PROCESSING"], "created_at": "2024-01-01T00:00:00.000Z"}
        for i, loc in enumerate(SQUARE_LOCATIONS)
    ]}  # fmt: skip


def movements(api: SandboxApi, params, headers, key: str) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _UNAUTHORIZED)
    start, end = instant(params.get("begin_time"), "begin_time"), instant(params.get("end_time"), "end_time")
    # ListPayments covers the default (first) location unless told; ListPaymentRefunds covers all.
    location = params.get("location_id") or (SQUARE_LOCATIONS[0] if key == "payments" else None)
    kind = "charge" if key == "payments" else "refund"
    _, records, _ = window(api.config, "square", start, end, kind, location)
    if params.get("sort_order", "DESC") == "DESC":
        records = records[::-1]
    return _page(params, key, records)


def payouts(api: SandboxApi, params, headers) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _UNAUTHORIZED)
    start, end = instant(params.get("begin_time"), "begin_time"), instant(params.get("end_time"), "end_time")
    location = params.get("location_id", SQUARE_LOCATIONS[0])  # the seller's main location by default
    arrivals = days(start, end + timedelta(days=LOOKBACK_DAYS))
    found = [p for day in arrivals for p in api.payouts_arriving(day, "square")
             if p.location_id == location and start <= p.created < end]  # fmt: skip
    found.sort(key=lambda p: (p.created, p.payout_id), reverse=params.get("sort_order", "DESC") == "DESC")
    return _page(params, "payouts", [payout_object(p) for p in found])


def payout_entries(api: SandboxApi, params, headers, payout_id: str) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _UNAUTHORIZED)
    payout = api.state.payouts.get(payout_id)
    if payout is None or payout.processor != "square":
        raise HttpError(404, {"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
                                          "detail": f"Payout {payout_id} not found"}]})  # fmt: skip
    entries = payout_entry_objects(payout)
    return _page(params, "payout_entries", entries[:: -1 if params.get("sort_order") == "DESC" else 1])


def routes(api: SandboxApi) -> Routes:
    return {
        ("GET", "/v2/locations"): lambda p, h: locations(api, p, h),
        ("GET", "/v2/payments"): lambda p, h: movements(api, p, h, "payments"),
        ("GET", "/v2/refunds"): lambda p, h: movements(api, p, h, "refunds"),
        ("GET", "/v2/payouts"): lambda p, h: payouts(api, p, h),
        ("GET", "/v2/disputes"): lambda p, h: disputes(api, p, h),
        ("GET", "/v2/payouts/{payout_id}/payout-entries"): lambda p, h, payout_id: payout_entries(api, p, h, payout_id),
    }

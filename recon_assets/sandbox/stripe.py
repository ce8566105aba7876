"""Stripe's sandbox: charges and refunds (newest first, cursor ``starting_after``), the money disputes moved
(balance transactions by creation), the disputes (their events, and the list by creation), payouts by arrival
date and the balance transactions of a payout, behind a secret key."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from recon_assets.processors.stripe import BALANCE_TRANSACTIONS
from recon_assets.sandbox.disputes import OPENED_DAYS_BEFORE, DisputeMovement, SandboxDispute
from recon_assets.sandbox.endpoints import Credentials, HttpError, Routes, days, integer, json_list, window
from recon_assets.sandbox.settlement import SandboxPayout
from recon_assets.sandbox.world import Movement, SandboxConfig, disputes_of

if TYPE_CHECKING:
    from recon_assets.sandbox.server import SandboxApi

CREDENTIALS = Credentials("sk_test_recon_sandbox")
_INVALID_KEY = {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}

_STATUS = {"succeeded": "succeeded", "pending": "pending", "failed": "failed"}


def _amount(m: Movement) -> int:
    return abs(m.amount_minor) * (100 if m.currency == "ISK" else 1)


def encode(m: Movement, currency: str | None = None, compact: bool = False) -> dict[str, Any]:
    """A charge or refund as Stripe lists it (``compact`` is PayPal's: unused)."""
    currency = (currency or m.currency).lower()
    created = int(m.created.timestamp())
    suffix = m.txn_id[3:]
    if m.kind == "refund":
        return {
            "amount": _amount(m), "balance_transaction": f"txn_{suffix}", "charge": m.parent_id,
            "created": created, "currency": currency,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "id": m.txn_id, "metadata": _metadata(m), "object": "refund", "payment_intent": None, "reason": None,
            "receipt_number": None, "source_transfer_reversal": None, "status": _STATUS[m.status],
            "transfer_reversal": None, "customer": None, "customer_account": None, "payment_method": None,
        }  # fmt: skip
    succeeded = m.status == "succeeded"
    return {
        "amount": _amount(m), "amount_captured": _amount(m) if succeeded else 0,
        "amount_refunded": 0, "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": f"txn_{suffix}" if succeeded else None,
        "billing_details": {
            "address": {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None,
                        "state": None},
            "email": None, "name": "Sandbox Customer", "phone": None, "tax_id": None,
        },
        "calculated_statement_descriptor": "RECON SANDBOX", "captured": succeeded, "created": created,
        "currency": currency, "customer": None, "description": "Sandbox charge", "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if m.status != "failed" else "card_declined",
        "failure_message": None if m.status != "failed" else "Your card was declined.",
        "fraud_details": {}, "id": m.txn_id, "livemode": False, "metadata": _metadata(m), "object": "charge",
        "on_behalf_of": None,
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": "approved_by_network", "reason": None, "seller_message": None,
                    "type": "authorized" if m.status != "failed" else "issuer_declined"},
        "paid": succeeded, "payment_intent": None, "payment_method": f"card_{suffix[:20]}",
        "payment_method_details": {"card": {"brand": "visa", "country": "US", "exp_month": 8, "exp_year": 2030,
                                            "funding": "credit", "last4": "4242"}, "type": "card"},
        "receipt_email": None, "receipt_number": None, "receipt_url": None, "refunded": False,
        "refunds": {"data": [], "has_more": False, "object": "list", "url": f"/v1/charges/{m.txn_id}/refunds"},
        "review": None, "shipping": {}, "source_transfer": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": _STATUS[m.status], "transfer_data": {},
        "transfer_group": None,
    }  # fmt: skip


def _metadata(m: Movement) -> dict[str, str]:
    return {"order_id": m.order_id} if m.order_id else {}


def _unix(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time(), tzinfo=UTC)
    return int(moment.timestamp())


def payout_object(p: SandboxPayout) -> dict[str, Any]:
    failed = p.failed
    return {
        "amount": p.amount_minor, "application_fee": None, "application_fee_amount": None,
        "arrival_date": _unix(p.arrival_date), "automatic": True, "balance_transaction": f"txn_{p.payout_id[3:]}",
        "created": _unix(p.created), "currency": p.currency.lower(), "description": "STRIPE PAYOUT",
        "destination": "ba_1ReconSandboxBankAcct", "failure_balance_transaction": None,
        "failure_code": "account_closed" if failed else None,
        "failure_message": "The bank account has been closed." if failed else None,
        "id": p.payout_id, "livemode": False, "metadata": {}, "method": "standard", "object": "payout",
        "original_payout": None, "reconciliation_status": "completed", "reversed_by": None, "source_type": "card",
        "statement_descriptor": None, "status": "failed" if failed else "paid", "type": "bank_account",
        "trace_id": {"status": "supported", "value": p.trace}, "payout_method": None,
    }  # fmt: skip


def _balance_transaction(tid: str, amount: int, fee: int, kind: str, category: str, source: str, created: datetime,
                         currency: str, available_on: date, rate=None) -> dict[str, Any]:  # fmt: skip
    fees = [{"amount": fee, "application": None, "currency": currency.lower(),
             "description": "Stripe processing fees", "type": "stripe_fee"}] if fee else []  # fmt: skip
    return {
        "amount": amount, "available_on": _unix(available_on), "created": _unix(created),
        "currency": currency.lower(), "description": None,
        "exchange_rate": None if rate is None else float(rate), "fee": fee,
        "fee_details": fees, "id": tid, "net": amount - fee, "object": "balance_transaction",
        "reporting_category": category, "source": source, "status": "available", "type": kind,
        "balance_type": "payments",
    }  # fmt: skip


def payout_balance_transactions(p: SandboxPayout) -> list[dict[str, Any]]:
    """The balance transactions a payout settled, then the payout's own (as ``?payout=`` lists them)."""
    items = [_balance_transaction(i.item_id, i.gross_minor, i.fee_minor, i.kind, i.kind, i.txn_id, i.created,
                                  p.currency, p.arrival_date, i.exchange_rate) for i in p.items]  # fmt: skip
    return [*items, _balance_transaction(f"txn_{p.payout_id[3:]}", -p.amount_minor, 0, "payout", "payout",
                                         p.payout_id, p.created, p.currency, p.arrival_date)]  # fmt: skip


_DISPUTE_CATEGORY = {"chargeback": ("dispute", "W"), "chargeback_reversal": ("dispute_reversal", "R")}


def dispute_balance_transactions(movements: list[DisputeMovement]) -> list[dict[str, Any]]:
    """The money disputes moved as the balance lists it: a withdrawal (with its fee), a reinstatement."""
    fees = {(m.txn_id, m.created): -m.amount_minor for m in movements if m.kind == "dispute_fee"}
    return [
        _balance_transaction(f"txn_{letter}{m.txn_id[3:]}", m.amount_minor, fees.get((m.txn_id, m.created), 0),
                             "adjustment", category, m.txn_id, m.created, m.currency, m.created.date())
        for m in movements if m.kind in _DISPUTE_CATEGORY
        for category, letter in [_DISPUTE_CATEGORY[m.kind]]
    ]  # fmt: skip


@functools.lru_cache(maxsize=8)
def _day_balance_transactions(config: SandboxConfig, day: date) -> tuple[dict[str, Any], ...]:
    """The money the day's disputes moved, as the balance lists it, newest first."""
    found = dispute_balance_transactions(list(disputes_of(config, "stripe", day).movements))
    return tuple(sorted(found, key=lambda t: (t["created"], t["id"]), reverse=True))


def dispute_object(d: SandboxDispute, moved: list[dict[str, Any]]) -> dict[str, Any]:
    """A dispute as Stripe gives it, with the balance transactions of its money (``moved``) on the day it was
    updated."""
    return {
        "id": d.dispute_id, "object": "dispute", "amount": d.amount_minor,
        "balance_transactions": moved,
        "charge": d.payment_id, "created": _unix(d.created), "currency": d.currency.lower(), "evidence": {},
        "evidence_details": {"due_by": None if d.due_by is None else _unix(d.due_by), "has_evidence": False,
                             "past_due": False, "submission_count": 0},
        "is_charge_refundable": False, "livemode": False, "metadata": {}, "payment_intent": None,
        "payment_method_details": {"card": {"brand": "visa", "case_type": d.stage, "network_reason_code": "13.1"},
                                   "type": "card"},
        "reason": d.reason, "status": d.status, "enhanced_eligibility_types": [],
    }  # fmt: skip


def _disputes_updated(api: SandboxApi, days_of: list[date]) -> list[tuple[SandboxDispute, dict[str, Any]]]:
    """The disputes updated on those days, each with its object as it stood then."""
    found = []
    for day in days_of:
        moved: dict[str, list[dict[str, Any]]] = {}
        for t in _day_balance_transactions(api.config, day):
            moved.setdefault(t["source"], []).append(t)
        found += [(d, dispute_object(d, moved.get(d.dispute_id, [])))
                  for d in disputes_of(api.config, "stripe", day).disputes]  # fmt: skip
    return found


def _event_type(d: SandboxDispute) -> str:
    if d.status in ("won", "lost"):
        return "charge.dispute.closed"
    return "charge.dispute.created" if d.created == d.updated else "charge.dispute.updated"


def events(api: SandboxApi, params, headers) -> dict[str, Any]:
    """Dispute events (``type=charge.dispute.*``) created in the window, newest first."""
    api.bearer(headers, CREDENTIALS.key, _INVALID_KEY)
    start, end = (_time(params, f"created[{edge}]") for edge in ("gte", "lt"))
    if not params.get("type", "charge.dispute.*").startswith("charge.dispute."):
        return _page(params, "/v1/events", [])
    found = [
        {"id": f"evt_{d.dispute_id[3:]}", "object": "event", "api_version": "2024-06-20", "created": _unix(d.updated),
         "data": {"object": obj}, "livemode": False, "pending_webhooks": 0, "type": _event_type(d)}
        for d, obj in _disputes_updated(api, days(start, end)) if start <= d.updated < end
    ]  # fmt: skip
    found.sort(key=lambda e: (e["created"], e["id"]), reverse=True)
    return _page(params, "/v1/events", found)


def disputes(api: SandboxApi, params, headers) -> dict[str, Any]:
    """Disputes created in the window, newest first, as they stand (on the day they were last updated)."""
    api.bearer(headers, CREDENTIALS.key, _INVALID_KEY)
    start, end = (_time(params, f"created[{edge}]") for edge in ("gte", "lt"))
    later = [day + timedelta(days=OPENED_DAYS_BEFORE) for day in days(start, end)]
    found = [obj for d, obj in _disputes_updated(api, sorted(set(days(start, end)) | set(later)))
             if start <= d.created < end]  # fmt: skip
    found.sort(key=lambda o: (o["created"], o["id"]), reverse=True)
    return _page(params, "/v1/disputes", found)


def _bad_request(message: str) -> HttpError:
    return HttpError(400, {"error": {"type": "invalid_request_error", "message": message}})


def _time(params: dict[str, str], name: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(params[name]), tz=UTC)
    except (KeyError, ValueError):
        raise _bad_request(f"{name} is required") from None


def _page(params, url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    limit = integer(params, "limit", 10, 1, 100)
    ids = [o["id"] for o in objects]
    after = params.get("starting_after")
    if after is not None and after not in ids:
        raise _bad_request("No such object")
    first = 0 if after is None else ids.index(after) + 1
    return {"object": "list", "url": url, "has_more": first + limit < len(ids), "data": objects[first : first + limit]}


def movements(api: SandboxApi, params, headers, kind: str) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _INVALID_KEY)
    limit = integer(params, "limit", 10, 1, 100)
    try:
        start = datetime.fromtimestamp(int(params["created[gte]"]), tz=UTC)
        end = datetime.fromtimestamp(int(params["created[lt]"]), tz=UTC)
    except (KeyError, ValueError):
        raise _bad_request("created[gte] and created[lt] are required") from None
    ids, records, index = window(api.config, "stripe", start, end, kind, None)
    newest_first = len(ids) - 1  # Stripe lists newest first
    after = params.get("starting_after")
    if after is not None and after not in index:
        raise _bad_request("No such object")
    first = 0 if after is None else newest_first - index[after] + 1
    page = [records[newest_first - i] for i in range(first, min(first + limit, len(ids)))]
    if after is not None and api.state.stripe_repeat_across_pages:
        page.insert(0, records[index[after]])  # as when records shift under a cursor
    url = "/v1/charges" if kind == "charge" else "/v1/refunds"
    return {"object": "list", "url": url, "has_more": first + limit < len(ids), "data": json_list(page)}


def payouts(api: SandboxApi, params, headers) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _INVALID_KEY)
    start, end = (_time(params, f"arrival_date[{edge}]") for edge in ("gte", "lt"))
    found = [p for day in days(start, end) for p in api.payouts_arriving(day, "stripe")]
    found.sort(key=lambda p: (p.created, p.payout_id), reverse=True)  # newest first
    return _page(params, "/v1/payouts", [payout_object(p) for p in found])


def balance_transactions(api: SandboxApi, params, headers) -> dict[str, Any]:
    """A payout's (``payout``), or those created in a window (``created``, ``type``), newest first."""
    api.bearer(headers, CREDENTIALS.key, _INVALID_KEY)
    if "payout" not in params:
        start, end = (_time(params, f"created[{edge}]") for edge in ("gte", "lt"))
        found = [
            t
            for day in sorted(days(start, end), reverse=True)
            for t in _day_balance_transactions(api.config, day)
            if start.timestamp() <= t["created"] < end.timestamp() and params.get("type", t["type"]) == t["type"]
        ]
        if params.get("expand[]") == "data.source":  # each with the dispute it moved money for
            disputes = {
                d.dispute_id: d for day in days(start, end) for d in disputes_of(api.config, "stripe", day).disputes
            }
            found = [{**t, "source": dispute_object(disputes[t["source"]], [])} for t in found]
        return _page(params, BALANCE_TRANSACTIONS, found)
    payout = api.state.payouts.get(params.get("payout", ""))
    if payout is None or payout.processor != "stripe":
        raise HttpError(404, {"error": {"type": "invalid_request_error", "message": "No such payout"}})
    return _page(params, BALANCE_TRANSACTIONS, payout_balance_transactions(payout))


def balance(api: SandboxApi, params, headers) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, _INVALID_KEY)
    return {"object": "balance", "livemode": False, "available": [{"amount": 0, "currency": "usd"}],
            "pending": [{"amount": 0, "currency": "usd"}]}  # fmt: skip


def routes(api: SandboxApi) -> Routes:
    return {
        ("GET", "/v1/balance"): lambda p, h: balance(api, p, h),
        ("GET", "/v1/charges"): lambda p, h: movements(api, p, h, "charge"),
        ("GET", "/v1/refunds"): lambda p, h: movements(api, p, h, "refund"),
        ("GET", "/v1/payouts"): lambda p, h: payouts(api, p, h),
        ("GET", "/v1/events"): lambda p, h: events(api, p, h),
        ("GET", "/v1/disputes"): lambda p, h: disputes(api, p, h),
        ("GET", BALANCE_TRANSACTIONS): lambda p, h: balance_transactions(api, p, h),
    }

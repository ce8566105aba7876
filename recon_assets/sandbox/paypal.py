"""PayPal's sandbox: an OAuth2 client-credentials token (which expires), and the Transaction Search API's
pages of transactions, withdrawals to the bank asked for by their event code."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from recon_assets.domain.money import format_major
from recon_assets.processors.paypal import DISPUTES, DISPUTES_PER_PAGE
from recon_assets.sandbox.disputes import DISPUTE_ID_PREFIX, DisputeMovement, SandboxDispute
from recon_assets.sandbox.endpoints import (
    Credentials,
    HttpError,
    Routes,
    days,
    days_between,
    instant,
    integer,
    json_list,
    window,
)
from recon_assets.sandbox.endpoints import offset as read_offset
from recon_assets.sandbox.endpoints import token as next_token
from recon_assets.sandbox.settlement import SandboxPayout
from recon_assets.sandbox.world import Movement, world

if TYPE_CHECKING:
    from recon_assets.sandbox.server import SandboxApi

CREDENTIALS = Credentials("recon-sandbox-client", "recon-sandbox-secret")

_STATUS = {"succeeded": "S", "pending": "P", "failed": "D"}


def timestamp(moment: datetime, compact: bool = False) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text if compact else text[:-2] + ":" + text[-2:]


def encode(m: Movement, currency: str | None = None, compact: bool = False) -> dict[str, Any]:
    currency = currency or m.currency
    stamp = timestamp(m.created, compact)
    info: dict[str, Any] = {
        "paypal_account_id": "SANDBOXPAYER1",
        "transaction_id": m.txn_id,
        "transaction_event_code": "T0006" if m.kind == "charge" else "T1107",
        "transaction_initiation_date": stamp,
        "transaction_updated_date": stamp,
        "transaction_amount": {"currency_code": currency, "value": format_major(m.amount_minor, m.currency)},
        "transaction_status": _STATUS[m.status],
        "protection_eligibility": "01",
    }
    if m.fee_minor:
        info["fee_amount"] = {"currency_code": currency, "value": format_major(-m.fee_minor, m.currency)}
    if m.order_id:
        info["invoice_id"] = m.order_id
    if m.parent_id:
        info["paypal_reference_id"] = m.parent_id
        info["paypal_reference_id_type"] = "TXN"
    return {
        "transaction_info": info,
        "payer_info": {"account_id": "SANDBOXPAYER1", "email_address": "buyer@example.com",
                       "address_status": "Y", "payer_status": "Y"},
        "cart_info": {},
        "store_info": {},
        "auction_info": {},
        "incentive_info": {},
    }  # fmt: skip


def _listed(info: dict[str, Any]) -> dict[str, Any]:
    """A balance movement that is no customer's payment, as Transaction Search lists it: no payer, no cart."""
    return {"transaction_info": info, "payer_info": {}, "cart_info": {}, "store_info": {}, "auction_info": {},
            "incentive_info": {}}  # fmt: skip


def dispute_object(d: DisputeMovement, compact: bool = False) -> dict[str, Any]:
    """Money a dispute moved, as Transaction Search lists it: its event code, and the payment it is about."""
    stamp = timestamp(d.created, compact)
    info = {
        "paypal_account_id": "SANDBOXPAYER1", "transaction_id": d.txn_id, "transaction_event_code": d.event_code,
        "transaction_initiation_date": stamp, "transaction_updated_date": stamp,
        "transaction_amount": {"currency_code": d.currency, "value": format_major(d.amount_minor, d.currency)},
        "transaction_status": "S", "protection_eligibility": "01",
        "paypal_reference_id": d.original_id, "paypal_reference_id_type": "TXN",
    }  # fmt: skip
    return _listed(info)


def dispute_summary(d: SandboxDispute) -> dict[str, Any]:
    """A dispute as the Disputes API lists it: a summary, without the transactions it concerns."""
    summary = {
        "dispute_id": d.dispute_id, "create_time": _millis(d.created), "update_time": _millis(d.updated),
        "reason": d.reason, "status": d.status,
        "dispute_amount": {"currency_code": d.currency, "value": format_major(d.amount_minor, d.currency)},
        "dispute_life_cycle_stage": d.stage, "dispute_channel": "INTERNAL",
        "links": [{"href": f"{DISPUTES}/{d.dispute_id}", "rel": "self", "method": "GET"}],
    }  # fmt: skip
    if d.due_by is not None:
        summary["seller_response_due_date"] = _millis(d.due_by)
    return summary


def dispute_details(d: SandboxDispute) -> dict[str, Any]:
    """A dispute read by id: the summary, and the transaction the customer disputed."""
    payment = {
        "seller_transaction_id": d.payment_id,
        "create_time": _millis(d.created - timedelta(days=7)),
        "transaction_status": "COMPLETED",
        "gross_amount": {"currency_code": d.currency, "value": format_major(d.amount_minor, d.currency)},
    }
    details = {**dispute_summary(d), "disputed_transactions": [payment]}
    if d.outcome_code:
        details["dispute_outcome"] = {"outcome_code": d.outcome_code}
    return details


def _millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _disputes_of(api: SandboxApi, first: date, last: date) -> list[SandboxDispute]:
    return [d for day in days_between(first, last) for d in world(api.config, "paypal", day).disputes.disputes]


def disputes(api: SandboxApi, params, headers) -> dict[str, Any]:
    """Disputes updated in [update_time_after, update_time_before), latest created first, pages of page_size."""
    api.bearer(headers, None, {"error": "invalid_token", "error_description": "Token is expired"})
    after = instant(params.get("update_time_after"), "update_time_after")
    before = instant(params.get("update_time_before"), "update_time_before")
    size = integer(params, "page_size", 10, 1, DISPUTES_PER_PAGE)
    first = read_offset(params.get("next_page_token"))
    listed = sorted(
        (
            d
            for d in _disputes_of(api, after.date(), (before - timedelta(microseconds=1)).date())
            if after <= d.updated < before
        ),
        key=lambda d: (d.created, d.dispute_id),
        reverse=True,
    )
    links = [{"href": DISPUTES, "rel": "self", "method": "GET"}]
    if first + size < len(listed):
        links.append({"href": f"{DISPUTES}?{urlencode({**params, 'next_page_token': next_token(first + size)})}",
                      "rel": "next", "method": "GET"})  # fmt: skip
    return {"items": [dispute_summary(d) for d in listed[first : first + size]], "links": links}


def dispute(api: SandboxApi, params, headers, dispute_id: str) -> dict[str, Any]:
    api.bearer(headers, None, {"error": "invalid_token", "error_description": "Token is expired"})
    day_text = dispute_id.removeprefix(DISPUTE_ID_PREFIX["paypal"])[:8]
    try:
        day = datetime.strptime(day_text, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        day = None
    found = [d for d in _disputes_of(api, day, day) if d.dispute_id == dispute_id] if day else []
    if not found:
        raise HttpError(404, {"name": "RESOURCE_NOT_FOUND", "message": "The specified resource does not exist."})
    return dispute_details(found[0])


def withdrawal_object(p: SandboxPayout) -> dict[str, Any]:
    """A withdrawal to the bank (event T0400): the money leaves the PayPal balance, so its amount is negative."""
    stamp = timestamp(p.created)
    info = {
        "paypal_account_id": "RECONSANDBOX1", "transaction_id": p.payout_id, "transaction_event_code": "T0400",
        "transaction_initiation_date": stamp, "transaction_updated_date": stamp,
        "transaction_amount": {"currency_code": p.currency, "value": format_major(-p.amount_minor, p.currency)},
        "transaction_status": "D" if p.failed else "S", "protection_eligibility": "02",
    }  # fmt: skip
    return _listed(info)


def token(api: SandboxApi, params, headers) -> dict[str, Any]:
    value = headers.get("Authorization", "")
    if value != "Basic " + base64.b64encode(":".join(CREDENTIALS).encode()).decode():
        raise HttpError(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
    issued = secrets.token_urlsafe(24)
    with api.state.lock:
        api.state.tokens[issued] = time.time() + api.state.token_ttl_seconds
    return {"scope": "https://uri.paypal.com/services/reporting/search/read", "access_token": issued,
            "token_type": "Bearer", "app_id": "APP-SANDBOX", "expires_in": api.state.token_ttl_seconds,
            "nonce": secrets.token_hex(8)}  # fmt: skip


def transactions(api: SandboxApi, params, headers) -> dict[str, Any]:
    api.bearer(headers, None, {"error": "invalid_token", "error_description": "Token is expired"})
    start, end = instant(params.get("start_date"), "start_date"), instant(params.get("end_date"), "end_date")
    size = integer(params, "page_size", 100, 1, 500)
    page = integer(params, "page", 1, 1, 2**31 - 1)
    code = params.get("transaction_type", "")
    disputed = [d for day in days(start, end) for d in world(api.config, "paypal", day).disputes.movements
                if start <= d.created < end and code in ("", d.event_code)]  # fmt: skip
    if code.startswith("T04"):  # withdrawals to the bank, asked for by event code
        withdrawals = [
            p for day in days(start, end) for p in api.payouts_arriving(day, "paypal") if start <= p.created < end
        ]
        records = [orjson.dumps(withdrawal_object(p)) for p in withdrawals]
        ids = [p.payout_id for p in withdrawals]
    else:  # the day's movements, or those of one event code (recon asks for holds so)
        ids, records, _ = ([], [], None) if code else window(api.config, "paypal", start, end, None, None,
                                                              api.state.paypal_compact_offsets)  # fmt: skip
        ids += [d.txn_id for d in disputed]
        records += [orjson.dumps(dispute_object(d, api.state.paypal_compact_offsets)) for d in disputed]
    return {
        "transaction_details": json_list(records[(page - 1) * size : page * size]),
        "account_number": "RECONSANDBOX1",
        "start_date": timestamp(start),
        "end_date": timestamp(end),
        "last_refreshed_datetime": timestamp(datetime.now(UTC).replace(microsecond=0)),
        "page": page,
        "total_items": len(ids),
        "total_pages": (len(ids) + size - 1) // size,
        "links": [{"href": "/v1/reporting/transactions", "rel": "self", "method": "GET"}],
    }


def routes(api: SandboxApi) -> Routes:
    return {
        ("POST", "/v1/oauth2/token"): lambda p, h: token(api, p, h),
        ("GET", "/v1/reporting/transactions"): lambda p, h: transactions(api, p, h),
        ("GET", DISPUTES): lambda p, h: disputes(api, p, h),
        ("GET", DISPUTES + "/{dispute_id}"): lambda p, h, dispute_id: dispute(api, p, h, dispute_id),
    }

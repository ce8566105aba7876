"""The internal ledger's sandbox: ``GET /v1/transactions`` of a day as its contract describes it, the day's
movements and payouts booked, behind a bearer token."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from recon_assets.contracts import ledger_entry_values, ledger_page_limits
from recon_assets.domain.money import format_major
from recon_assets.sandbox.endpoints import Credentials, HttpError, Routes, generated_once, integer, json_list
from recon_assets.sandbox.endpoints import offset as read_offset
from recon_assets.sandbox.endpoints import token as next_token
from recon_assets.sandbox.settlement import ledger_settlement_entries
from recon_assets.sandbox.world import Booking, SandboxConfig, ledger_bookings

if TYPE_CHECKING:
    from recon_assets.sandbox.server import SandboxApi

CREDENTIALS = Credentials("recon-sandbox-ledger-token")


@generated_once(maxsize=16)
def day_entries(config: SandboxConfig, processors: tuple[str, ...], day: date) -> list[bytes]:
    """The ledger's entries of the day, oldest first, each encoded once: the movements' and the payouts'."""
    payouts = [Booking(ledger_id, p, payout_id, kind, amount, currency, "succeeded", at, None)
               for p in processors for ledger_id, payout_id, kind, amount, currency, at
               in ledger_settlement_entries(config, p, day)]  # fmt: skip
    entries = sorted([*payouts, *(b for p in processors for b in ledger_bookings(config, p, day))],
                     key=lambda b: (b.booked_at, b.ledger_id))  # fmt: skip
    return [orjson.dumps(entry_object(b)) for b in entries]


def entry_object(b: Booking) -> dict[str, Any]:
    return {
        "id": b.ledger_id,
        "processor": b.processor,
        "processor_reference": b.reference,
        "kind": b.kind,
        "amount": format_major(b.amount_minor, b.currency),
        "fee": format_major(b.fee_minor, b.currency) if b.fee_minor is not None else None,
        "currency": b.currency,
        "status": b.status,
        "merchant_id": "merchant_001",
        "booked_at": b.booked_at.isoformat().replace("+00:00", "Z"),
        **({"order_reference": b.order_reference} if b.order_reference else {}),
        **({"original_reference": b.original_reference} if b.original_reference else {}),
    }


def transactions(api: SandboxApi, params, headers) -> dict[str, Any]:
    api.bearer(headers, CREDENTIALS.key, {"error": {"code": "UNAUTHORIZED", "message": "missing or wrong token"}})
    try:
        day = date.fromisoformat(params["date"])
    except (KeyError, ValueError):
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": "date is required"}}) from None
    known = ledger_entry_values("processor")
    processor = params.get("processor")
    if processor and processor not in known:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": "unknown processor"}})
    processors = [processor] if processor else [p for p in known if p in api.config.processors]
    default_limit, max_limit = ledger_page_limits()
    limit = integer(params, "limit", default_limit, 1, max_limit)
    entries = day_entries(api.config, tuple(processors), day)
    first = read_offset(params.get("page_token"))
    more = first + limit < len(entries)
    return {
        "data": json_list(entries[first : first + limit]),
        "next_page_token": next_token(first + limit) if more else None,
    }


def routes(api: SandboxApi) -> Routes:
    return {("GET", "/v1/transactions"): lambda p, h: transactions(api, p, h)}

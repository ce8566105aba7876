"""The sandbox's movements and bookings in each API's own wire format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from recon_assets.domain.money import format_major
from recon_assets.sandbox.settlement import SandboxPayout
from recon_assets.sandbox.world import Booking, Movement

_STRIPE_STATUS = {"succeeded": "succeeded", "pending": "pending", "failed": "failed"}
_SQUARE_PAYMENT_STATUS = {"succeeded": "COMPLETED", "pending": "APPROVED", "failed": "FAILED"}
_SQUARE_REFUND_STATUS = {"succeeded": "COMPLETED", "pending": "PENDING", "failed": "FAILED"}
_PAYPAL_STATUS = {"succeeded": "S", "pending": "P", "failed": "D"}


def _stripe_amount(m: Movement) -> int:
    return abs(m.amount_minor) * (100 if m.currency == "ISK" else 1)


def stripe_object(m: Movement, currency: str | None = None) -> dict[str, Any]:
    currency = (currency or m.currency).lower()
    created = int(m.created.timestamp())
    suffix = m.txn_id[3:]
    if m.kind == "refund":
        return {
            "amount": _stripe_amount(m), "balance_transaction": f"txn_{suffix}", "charge": m.parent_id,
            "created": created, "currency": currency,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "id": m.txn_id, "metadata": _stripe_metadata(m), "object": "refund", "payment_intent": None, "reason": None,
            "receipt_number": None, "source_transfer_reversal": None, "status": _STRIPE_STATUS[m.status],
            "transfer_reversal": None, "customer": None, "customer_account": None, "payment_method": None,
        }  # fmt: skip
    succeeded = m.status == "succeeded"
    return {
        "amount": _stripe_amount(m), "amount_captured": _stripe_amount(m) if succeeded else 0,
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
        "fraud_details": {}, "id": m.txn_id, "livemode": False, "metadata": _stripe_metadata(m), "object": "charge",
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
        "statement_descriptor_suffix": None, "status": _STRIPE_STATUS[m.status], "transfer_data": {},
        "transfer_group": None,
    }  # fmt: skip


def _stripe_metadata(m: Movement) -> dict[str, str]:
    return {"order_id": m.order_id} if m.order_id else {}


def paypal_time(moment: datetime, compact_offset: bool = False) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text if compact_offset else text[:-2] + ":" + text[-2:]


def paypal_detail(m: Movement, currency: str | None = None, compact_offset: bool = False) -> dict[str, Any]:
    currency = currency or m.currency
    stamp = paypal_time(m.created, compact_offset)
    info: dict[str, Any] = {
        "paypal_account_id": "SANDBOXPAYER1",
        "transaction_id": m.txn_id,
        "transaction_event_code": "T0006" if m.kind == "charge" else "T1107",
        "transaction_initiation_date": stamp,
        "transaction_updated_date": stamp,
        "transaction_amount": {"currency_code": currency, "value": format_major(m.amount_minor, m.currency)},
        "transaction_status": _PAYPAL_STATUS[m.status],
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


def square_object(m: Movement, currency: str | None = None) -> dict[str, Any]:
    currency = currency or m.currency
    stamp = m.created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    money = {"amount": abs(m.amount_minor), "currency": currency}
    fee = [{"effective_at": stamp, "type": "INITIAL", "amount_money": {"amount": m.fee_minor, "currency": currency}}]
    if m.kind == "refund":
        return {
            "id": m.txn_id, "status": _SQUARE_REFUND_STATUS[m.status], "location_id": m.location_id,
            "amount_money": money, "payment_id": m.parent_id, "reason": "Sandbox refund",
            "created_at": stamp, "updated_at": stamp,
        }  # fmt: skip
    payment = {
        "id": m.txn_id, "created_at": stamp, "updated_at": stamp, "amount_money": money,
        "total_money": money, "approved_money": money, "status": _SQUARE_PAYMENT_STATUS[m.status],
        "source_type": "CARD", "location_id": m.location_id, "order_id": m.order_id or m.txn_id[::-1],
        "receipt_number": m.txn_id[:4], "version_token": m.txn_id[-8:],
        "card_details": {"status": "CAPTURED" if m.status == "succeeded" else "FAILED",
                         "card": {"card_brand": "VISA", "last_4": "1111"}, "entry_method": "KEYED"},
    }  # fmt: skip
    if m.fee_minor:
        payment["processing_fee"] = fee
    return payment


def ledger_entry(b: Booking) -> dict[str, Any]:
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
    }


def _unix(moment: datetime | date) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time(), tzinfo=UTC)
    return int(moment.timestamp())


def stripe_payout(p: SandboxPayout) -> dict[str, Any]:
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


def stripe_balance_transactions(p: SandboxPayout) -> list[dict[str, Any]]:
    """The balance transactions a payout settled, then the payout's own (as ``?payout=`` lists them)."""

    def transaction(tid, amount, fee, net, kind, source, created) -> dict[str, Any]:
        fees = [{"amount": fee, "application": None, "currency": p.currency.lower(),
                 "description": "Stripe processing fees", "type": "stripe_fee"}] if fee else []  # fmt: skip
        return {
            "amount": amount, "available_on": _unix(p.arrival_date), "created": _unix(created),
            "currency": p.currency.lower(), "description": None, "exchange_rate": None, "fee": fee,
            "fee_details": fees, "id": tid, "net": net, "object": "balance_transaction",
            "reporting_category": kind, "source": source, "status": "available", "type": kind,
            "balance_type": "payments",
        }  # fmt: skip

    items = [transaction(i.item_id, i.gross_minor, i.fee_minor, i.net_minor, i.kind, i.txn_id, i.created)
             for i in p.items]  # fmt: skip
    return [*items, transaction(f"txn_{p.payout_id[3:]}", -p.amount_minor, 0, -p.amount_minor, "payout",
                                p.payout_id, p.created)]  # fmt: skip


def _square_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def square_payout(p: SandboxPayout) -> dict[str, Any]:
    return {
        "id": p.payout_id, "status": "FAILED" if p.failed else "PAID", "location_id": p.location_id,
        "created_at": _square_time(p.created), "updated_at": _square_time(p.created),
        "amount_money": {"amount": p.amount_minor, "currency": p.currency},
        "destination": {"type": "BANK_ACCOUNT", "id": "bact:ReconSandboxBank01"}, "version": 1, "type": "BATCH",
        "arrival_date": p.arrival_date.isoformat(), "end_to_end_id": p.trace,
    }  # fmt: skip


def square_payout_entries(p: SandboxPayout) -> list[dict[str, Any]]:
    def money(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": p.currency}

    entries = []
    for i in p.items:
        entry = {
            "id": i.item_id, "payout_id": p.payout_id, "effective_at": _square_time(i.created),
            "type": i.kind.upper(), "gross_amount_money": money(i.gross_minor), "fee_amount_money": money(i.fee_minor),
            "net_amount_money": money(i.net_minor),
        }  # fmt: skip
        if i.kind == "refund":
            entry["type_refund_details"] = {"payment_id": i.parent_id, "refund_id": i.txn_id}
        else:
            entry["type_charge_details"] = {"payment_id": i.txn_id}
        entries.append(entry)
    return entries


def paypal_withdrawal(p: SandboxPayout) -> dict[str, Any]:
    """A withdrawal to the bank (event T0400): the money leaves the PayPal balance, so its amount is negative."""
    stamp = paypal_time(p.created)
    info = {
        "paypal_account_id": "RECONSANDBOX1", "transaction_id": p.payout_id, "transaction_event_code": "T0400",
        "transaction_initiation_date": stamp, "transaction_updated_date": stamp,
        "transaction_amount": {"currency_code": p.currency, "value": format_major(-p.amount_minor, p.currency)},
        "transaction_status": "D" if p.failed else "S", "protection_eligibility": "02",
    }  # fmt: skip
    return {"transaction_info": info, "payer_info": {}, "cart_info": {}, "store_info": {}, "auction_info": {},
            "incentive_info": {}}  # fmt: skip

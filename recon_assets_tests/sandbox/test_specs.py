"""The sandbox answers in the processors' published shapes; the clients parse their own examples."""

import json
from datetime import UTC, date, datetime

import jsonschema
import pytest
import requests

from recon_assets.contracts import ledger_contract
from recon_assets.domain.money import exponent
from recon_assets.processors.http import HttpClient
from recon_assets.processors.ledger import FORMAT as LEDGER_FORMAT
from recon_assets.processors.ledger import LedgerClient
from recon_assets.processors.square import SquarePayoutEntries, SquarePayouts
from recon_assets.processors.stripe import FORMATS as STRIPE_FORMATS
from recon_assets.processors.stripe import StripeBalanceTransaction, StripeClient, StripeDispute, StripePayout
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS as C
from recon_assets.sandbox.world import (
    SQUARE_LOCATIONS,
    SandboxConfig,
    expected_findings,
    ledger_bookings,
    processor_movements,
    world,
)
from recon_assets_tests.conftest import SPECS

DAY = date(2026, 11, 20)


def component_schema(spec: dict, name: str) -> dict:
    """A schema from an OpenAPI document, its $refs resolvable against the document."""
    return {**spec, "$ref": f"#/components/schemas/{name}"}


def nullable_to_jsonschema(node):
    if isinstance(node, dict):
        node = {k: nullable_to_jsonschema(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        node.pop("format", None)
        return node
    if isinstance(node, list):
        return [nullable_to_jsonschema(v) for v in node]
    return node


def get(sandbox, path, params, headers):
    response = requests.get(sandbox.url + path, params=params, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def paypal_bearer(sandbox) -> dict[str, str]:
    """The headers of a request to PayPal's sandbox with a fresh OAuth token."""
    token = requests.post(
        sandbox.url + "/v1/oauth2/token", data={"grant_type": "client_credentials"},
        auth=tuple(C["paypal"]), timeout=10,
    ).json()["access_token"]  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def test_paypal_responses_match_the_spec(sandbox):
    spec = nullable_to_jsonschema(json.loads((SPECS / "paypal-reporting-transactions-v1.json").read_text()))
    body = get(sandbox, "/v1/reporting/transactions",
               {"start_date": "2026-11-20T00:00:00+00:00", "end_date": "2026-11-21T00:00:00+00:00", "page_size": 500},
               paypal_bearer(sandbox))  # fmt: skip
    assert body["transaction_details"]
    jsonschema.validate(body, component_schema(spec, "search_response"))


def test_paypal_disputes_match_the_spec(sandbox):
    spec = nullable_to_jsonschema(json.loads((SPECS / "paypal-customer-disputes-v1.json").read_text()))
    headers = paypal_bearer(sandbox)
    listed = get(sandbox, "/v1/customer/disputes", {"update_time_after": "2026-11-20T00:00:00Z",
                                                    "update_time_before": "2026-11-21T00:00:00Z"}, headers)  # fmt: skip
    assert len(listed["items"]) == 10  # the default page size
    jsonschema.validate(listed, component_schema(spec, "dispute_search"))
    one = get(sandbox, f"/v1/customer/disputes/{listed['items'][0]['dispute_id']}", {}, headers)
    assert one["disputed_transactions"][0]["seller_transaction_id"]
    jsonschema.validate(one, component_schema(spec, "dispute"))


@pytest.mark.parametrize(("path", "schema"), [
    ("/v2/payments", "ListPaymentsResponse"), ("/v2/refunds", "ListPaymentRefundsResponse"),
    ("/v2/locations", "ListLocationsResponse"),
])  # fmt: skip
def test_square_responses_match_the_spec(sandbox, path, schema):
    spec = nullable_to_jsonschema(json.loads((SPECS / "square-payments-refunds-locations.json").read_text()))
    body = get(sandbox, path, {"begin_time": "2026-11-20T00:00:00Z", "end_time": "2026-11-21T00:00:00Z"},
               {"Authorization": f"Bearer {C['square'].key}"})  # fmt: skip
    assert any(body.values())
    jsonschema.validate(body, component_schema(spec, schema))


def test_ledger_responses_match_the_contract(sandbox):
    contract = nullable_to_jsonschema(ledger_contract())
    page = contract["paths"]["/v1/transactions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    body = get(sandbox, "/v1/transactions", {"date": DAY.isoformat()},
               {"Authorization": f"Bearer {C['ledger'].key}"})  # fmt: skip
    assert body["data"]
    jsonschema.validate(body, {**contract, **page})


def _shape(value):
    return type(value).__name__ if value is not None else None


@pytest.mark.parametrize(("path", "kind"), [("/v1/charges", "charge"), ("/v1/refunds", "refund")])
def test_stripe_objects_have_stripes_fields_and_types(sandbox, path, kind):
    example = json.loads((SPECS / "stripe-example-objects.json").read_text())[kind]
    body = get(sandbox, path, {"created[gte]": 1763596800, "created[lt]": 1763683200, "limit": 100},
               {"Authorization": f"Bearer {C['stripe'].key}"})  # fmt: skip
    ours = body["data"][0]
    missing = set(example) - set(ours) - {"source", "payment_method_details"}
    assert not missing, f"fields Stripe has that the sandbox lacks: {missing}"
    for field, value in ours.items():
        if field in example and value is not None and example[field] is not None:
            assert _shape(value) == _shape(example[field]), field


def _canonical(client, fmt, path, item):
    """One record through the client's reading of a page and its canonical columns."""
    page = client.read_page(json.dumps({fmt.list_key: [item], "has_more": False}).encode(), fmt, path, 1)
    made = client.canonical([record for _, record in page.records], path)
    assert not made.refused
    return {name: column[0] for name, column in made.columns.items()}


def test_clients_parse_the_processors_own_examples():
    examples = json.loads((SPECS / "stripe-example-objects.json").read_text())
    client = StripeClient(HttpClient("stripe", "http://127.0.0.1:9"), "x")
    charge, refund = (_canonical(client, STRIPE_FORMATS[path], path, examples[kind])
                      for path, kind in (("/v1/charges", "charge"), ("/v1/refunds", "refund")))  # fmt: skip
    assert (charge["amount_minor"], charge["currency"], charge["kind"]) == (100, "USD", "charge")
    assert (refund["amount_minor"], refund["kind"]) == (-100, "refund")
    ledger = LedgerClient(HttpClient("ledger", "http://127.0.0.1:9"), "x")
    entry = _canonical(ledger, LEDGER_FORMAT, "/v1/transactions",
        {"id": "led_1", "processor": "paypal", "processor_reference": "ABC", "kind": "charge", "amount": "1.250",
         "currency": "KWD", "status": "succeeded", "booked_at": "2026-11-20T10:00:00Z"})  # fmt: skip
    assert entry["amount_minor"] == 1250


def test_sandbox_is_deterministic():
    config = SandboxConfig(seed=3)
    first = processor_movements(config, "stripe", DAY), ledger_bookings(config, "stripe", DAY)
    for cached in (world, processor_movements, ledger_bookings):
        cached.cache_clear()
    again = processor_movements(config, "stripe", DAY), ledger_bookings(config, "stripe", DAY)
    assert first == again and len(first[0]) > 300
    assert expected_findings(config, "stripe", DAY) == world(config, "stripe", DAY).expected
    assert processor_movements(SandboxConfig(seed=4), "stripe", DAY) != first[0]


SQUARE = {"Authorization": f"Bearer {C['square'].key}"}


def test_square_payouts_and_their_entries_match_the_spec(sandbox):
    spec = nullable_to_jsonschema(json.loads((SPECS / "square-payouts.json").read_text()))
    listed = get(sandbox, "/v2/payouts", {"begin_time": "2026-11-13T00:00:00Z", "end_time": "2026-11-21T00:00:00Z",
                                          "location_id": SQUARE_LOCATIONS[0]}, SQUARE)  # fmt: skip
    assert listed["payouts"]
    jsonschema.validate(listed, component_schema(spec, "ListPayoutsResponse"))
    payout = listed["payouts"][0]
    entries = get(sandbox, f"/v2/payouts/{payout['id']}/payout-entries", {}, SQUARE)
    assert entries["payout_entries"]
    jsonschema.validate(entries, component_schema(spec, "ListPayoutEntriesResponse"))
    assert sum(e["net_amount_money"]["amount"] for e in entries["payout_entries"]) in (
        payout["amount_money"]["amount"],
        payout["amount_money"]["amount"] - 10 ** exponent(payout["amount_money"]["currency"]),
    )  # equal, unless this payout carries the planted composition fault


@pytest.mark.parametrize("kind", ["payout", "balance_transaction"])
def test_stripe_cash_objects_have_stripes_fields_and_types(sandbox, kind):
    example = json.loads((SPECS / "stripe-example-objects.json").read_text())[kind]
    stripe = {"Authorization": f"Bearer {C['stripe'].key}"}
    payouts = get(sandbox, "/v1/payouts", {"arrival_date[gte]": 1763596800, "arrival_date[lt]": 1763683200}, stripe)
    ours = payouts["data"][0]
    if kind == "balance_transaction":
        ours = get(sandbox, "/v1/balance_transactions", {"payout": ours["id"]}, stripe)["data"][0]
    assert not set(example) - set(ours), f"fields Stripe has that the sandbox lacks: {set(example) - set(ours)}"
    for field, value in ours.items():
        if field in example and value is not None and example[field] is not None:
            assert _shape(value) == _shape(example[field]), field


def test_stripe_disputes_and_their_money_have_stripes_fields_and_types(sandbox):
    """The dispute as its events and the disputes list give it, and the balance transaction of its money (with
    the dispute expanded, as recon asks for it)."""
    examples = json.loads((SPECS / "stripe-example-objects.json").read_text())
    stripe = {"Authorization": f"Bearer {C['stripe'].key}"}
    day = {"created[gte]": 1763596800, "created[lt]": 1763683200}
    events = get(sandbox, "/v1/events", {**day, "type": "charge.dispute.*", "limit": 100}, stripe)["data"]
    moved = get(sandbox, "/v1/balance_transactions", {**day, "type": "adjustment", "expand[]": "data.source"},
                stripe)["data"]  # fmt: skip
    assert events and moved
    read = StripeDispute.model_validate(examples["dispute"]).as_dispute(datetime(2009, 2, 14, tzinfo=UTC))
    assert (read.reference, read.payment, read.status, read.stage, read.due_by.year, read.needs_response) == (
        "dp_1Pgc71B7WZ01zgkWMevJiAUx", "ch_1PgafuB7WZ01zgkWXYmPNZs8", "warning_needs_response", "inquiry", 2024, True,
    )  # fmt: skip
    for ours, example in (
        (events[0]["data"]["object"], examples["dispute"]),
        (moved[0], examples["balance_transaction"]),
        (moved[0]["source"], examples["dispute"]),
    ):
        assert not set(example) - set(ours), f"fields Stripe has that the sandbox lacks: {set(example) - set(ours)}"
        for field, value in ours.items():
            if field in example and value is not None and example[field] is not None and field != "source":
                assert _shape(value) == _shape(example[field]), field


def test_square_disputes_match_the_spec(sandbox):
    spec = nullable_to_jsonschema(json.loads((SPECS / "square-disputes.json").read_text()))
    listed = get(sandbox, "/v2/disputes", {}, SQUARE)
    assert listed["disputes"] and listed["cursor"]  # the account's whole list: more than a page
    jsonschema.validate(listed, component_schema(spec, "ListDisputesResponse"))


def test_paypal_withdrawals_match_the_spec(sandbox):
    spec = nullable_to_jsonschema(json.loads((SPECS / "paypal-reporting-transactions-v1.json").read_text()))
    token = requests.post(
        sandbox.url + "/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=tuple(C["paypal"]),
        timeout=10,
    ).json()["access_token"]  # fmt: skip
    body = get(sandbox, "/v1/reporting/transactions",
               {"start_date": "2026-11-20T00:00:00+00:00", "end_date": "2026-11-21T00:00:00+00:00",
                "transaction_type": "T0400"}, {"Authorization": f"Bearer {token}"})  # fmt: skip
    assert body["transaction_details"]
    assert {d["transaction_info"]["transaction_event_code"] for d in body["transaction_details"]} == {"T0400"}
    jsonschema.validate(body, component_schema(spec, "search_response"))


def test_clients_read_the_processors_own_payout_examples():
    examples = json.loads((SPECS / "stripe-example-objects.json").read_text())
    assert StripePayout.model_validate(examples["payout"]).amount == 1100
    assert StripeBalanceTransaction.model_validate(examples["balance_transaction"]).source.startswith("ch_")
    spec = json.loads((SPECS / "square-payouts.json").read_text())["components"]["schemas"]
    payouts = SquarePayouts.model_validate(spec["ListPayoutsResponse"]["example"]).payouts
    assert payouts[0].amount_money.amount == 6259 and payouts[0].end_to_end_id == "L2100000005"
    entries = SquarePayoutEntries.model_validate(spec["ListPayoutEntriesResponse"]["example"]).payout_entries
    refund = next(e for e in entries if e.type == "REFUND")
    assert refund.net_amount_money.amount == -48 and refund.type_refund_details.payment_id

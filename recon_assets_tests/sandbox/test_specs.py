"""The sandbox answers in the processors' published shapes; the clients parse their own examples."""

import json
from datetime import date

import jsonschema
import pytest
import requests

from recon_assets.contracts import ledger_contract
from recon_assets.processors.http import HttpClient
from recon_assets.processors.ledger import FORMAT as LEDGER_FORMAT
from recon_assets.processors.ledger import LedgerClient
from recon_assets.processors.stripe import FORMATS as STRIPE_FORMATS
from recon_assets.processors.stripe import StripeClient
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS as C
from recon_assets.sandbox.world import SandboxConfig, expected_findings, ledger_bookings, processor_movements, world
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


def test_paypal_responses_match_the_spec(sandbox):
    spec = nullable_to_jsonschema(json.loads((SPECS / "paypal-reporting-transactions-v1.json").read_text()))
    token = requests.post(
        sandbox.url + "/v1/oauth2/token", data={"grant_type": "client_credentials"},
        auth=tuple(C["paypal"]), timeout=10,
    ).json()["access_token"]  # fmt: skip
    body = get(sandbox, "/v1/reporting/transactions",
               {"start_date": "2026-11-20T00:00:00+00:00", "end_date": "2026-11-21T00:00:00+00:00", "page_size": 500},
               {"Authorization": f"Bearer {token}"})  # fmt: skip
    assert body["transaction_details"]
    jsonschema.validate(body, component_schema(spec, "search_response"))


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

"""The clients against the sandbox server over a real loopback socket."""

import time
from datetime import timedelta

import pytest
import requests

from recon_assets.processors import paypal
from recon_assets.processors.http import ApiError, HttpClient
from recon_assets.processors.paypal import FORMAT as PAYPAL_FORMAT
from recon_assets.processors.stripe import FORMATS as STRIPE_FORMATS
from recon_assets.processors.stripe import StripeClient
from recon_assets.sandbox.disputes import DISPUTE_FEE_MINOR, OPENED_DAYS_BEFORE
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS as C
from recon_assets.sandbox.world import SandboxConfig, ledger_bookings, processor_records, world
from recon_assets_tests.misbehaving import MisbehavingProxy
from recon_assets_tests.processors.clients import DAY, FAST, fetch, make


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=1100)])
@pytest.mark.parametrize("name", ["stripe", "paypal", "square"])
@pytest.mark.parametrize(("windows", "workers"), [(1, 1), (6, 3)])
def test_full_day_over_many_pages(sandbox, sandbox_config, name, windows, workers):
    """Every movement of the day, once: payments, refunds and the money disputes moved, not their holds."""
    records, result = fetch(make(name, sandbox.url, windows, workers))
    truth = processor_records(sandbox_config, name, DAY)
    assert sorted((r.processor_txn_id, r.kind) for r in records) == sorted(truth)
    assert day_of(records) == truth
    assert result.stats.pages > 1 and not result.quarantine
    kinds = {kind for _, kind in truth}
    assert {"chargeback", "chargeback_reversal"} <= kinds and (name in DISPUTE_FEE_MINOR) == ("dispute_fee" in kinds)


def test_ledger_pages_and_amounts(sandbox, sandbox_config):
    records, _ = fetch(make("ledger", sandbox.url))
    truth = ledger_bookings(sandbox_config, "stripe", DAY)
    assert [(r.ledger_id, r.amount_minor, r.currency) for r in records] == [
        (b.ledger_id, b.amount_minor, b.currency) for b in truth
    ]


def fault(sandbox, **spec):
    requests.post(f"{sandbox.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


def day_of(records) -> dict[tuple[str, str], int]:
    """The day as fetched, (id, kind) -> amount, to compare with the sandbox's ``processor_records``."""
    return {(r.processor_txn_id, r.kind): r.amount_minor for r in records}


def test_429_with_retry_after_then_success(sandbox, sandbox_config):
    fault(sandbox, path_prefix="/v1/charges", status=429, count=2, retry_after=0.01)
    before = sum(sandbox.state.requests.values())
    records, result = fetch(make("stripe", sandbox.url))
    assert result.stats.retries == 2
    assert sum(sandbox.state.requests.values()) - before == result.stats.requests  # each retry a request of its own
    assert day_of(records) == processor_records(sandbox_config, "stripe", DAY)  # the whole day


@pytest.fixture
def rate_limited(sandbox):
    requests.post(f"{sandbox.url}/_sandbox/settings", json={"rate_limit_per_second": 20}, timeout=5).raise_for_status()
    yield sandbox
    requests.post(f"{sandbox.url}/_sandbox/settings", json={"rate_limit_per_second": 0}, timeout=5).raise_for_status()


def test_the_sandbox_refuses_a_burst_over_its_rate_limit(rate_limited):
    with requests.Session() as session:
        statuses = [session.get(f"{rate_limited.url}/v1/charges", auth=(C["stripe"].key, ""), timeout=5).status_code
                    for _ in range(100)]  # fmt: skip
    refused = statuses.count(429)
    assert refused >= 10 and len(statuses) - refused >= 20, statuses  # 20 a second answered, the rest refused


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=1100)])
def test_a_paced_client_stays_under_the_rate_limit_with_many_workers(rate_limited, sandbox_config):
    refused_before = rate_limited.state.rate_limited
    started = time.monotonic()
    records, result = fetch(make("stripe", rate_limited.url, windows=6, workers=3, requests_per_second=15))
    elapsed = time.monotonic() - started
    assert day_of(records) == processor_records(sandbox_config, "stripe", DAY)
    assert rate_limited.state.rate_limited == refused_before and result.stats.retries == 0  # never a 429
    assert result.stats.requests > 15 and elapsed >= (result.stats.requests - 1) / 15


def test_5xx_then_success(sandbox, sandbox_config):
    fault(sandbox, path_prefix="/v2/payments", status=503, count=1)
    records, result = fetch(make("square", sandbox.url))
    assert result.stats.retries == 1
    assert day_of(records) == processor_records(sandbox_config, "square", DAY)


def test_persistent_500_fails_clearly(sandbox):
    fault(sandbox, path_prefix="/v1/reporting/transactions", status=500, count=100)
    with pytest.raises(ApiError, match=r"paypal API /v1/reporting/transactions: HTTP 500") as info:
        fetch(make("paypal", sandbox.url))
    assert C["paypal"].secret not in str(info.value)


def test_other_4xx_is_not_retried(sandbox):
    client = StripeClient(HttpClient("stripe", sandbox.url, FAST), "sk_test_wrong")
    with pytest.raises(ApiError, match="HTTP 401") as info:
        fetch(client)
    assert "sk_test_wrong" not in str(info.value)
    assert client.http.stats.retries == 0


def test_paypal_token_expiry_refreshes_once(sandbox):
    client = make("paypal", sandbox.url)
    first, _ = fetch(client)
    requests.post(f"{sandbox.url}/_sandbox/expire-tokens", timeout=5).raise_for_status()
    again, _ = fetch(client)
    assert {r.processor_txn_id for r in again} == {r.processor_txn_id for r in first}
    assert sandbox.state.requests["/v1/oauth2/token"] == 2


def test_malformed_json_fails_clearly(sandbox):
    fault(sandbox, path_prefix="/v1/transactions", status=200, malformed=True)
    with pytest.raises(ApiError, match="not valid JSON"):
        fetch(make("ledger", sandbox.url))


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=60, bad_currency_records=2)])
@pytest.mark.parametrize("name", ["stripe", "paypal", "square"])
def test_bad_currency_is_quarantined(sandbox, name):
    records, result = fetch(make(name, sandbox.url))
    assert len(result.quarantine) == 2 and result.stats.quarantined == 2
    assert all("currency" in q.reason for q in result.quarantine)
    assert {q.record_id for q in result.quarantine}.isdisjoint(r.processor_txn_id for r in records)


@pytest.mark.parametrize(
    ("code", "amount", "kind"),
    [("T0006", "10.00", "charge"), ("T1107", "-10.00", "refund"), ("T1106", "-10.00", "chargeback"),
     ("T1201", "-10.00", "chargeback"), ("T1202", "10.00", "chargeback_reversal"), ("T0106", "-20.00", "dispute_fee"),
     ("T1110", "-10.00", None), ("T1111", "10.00", None), ("T1105", "10.00", None), ("T0400", "-10.00", None)],
)  # fmt: skip
def test_each_paypal_event_code_is_the_movement_it_records_and_a_hold_is_none(code, amount, kind):
    """No hold, release or reversal is read as a refund: a reversal is a chargeback, a hold (T1110), its release
    (T1111) and other codes move no money recon reconciles as a transaction."""
    info = {"transaction_id": "X", "transaction_event_code": code, "transaction_status": "S",
            "transaction_initiation_date": "2026-11-20T10:00:00+0000",
            "transaction_amount": {"currency_code": "USD", "value": amount}}  # fmt: skip
    record = PAYPAL_FORMAT.record.validate_python({"transaction_info": info})
    canonical = make("paypal", "http://127.0.0.1:9").canonical([record], "/v1/reporting/transactions")
    assert canonical.columns["kind"] == [kind] and bool(canonical.skipped[0]) == (kind is None)
    assert not canonical.refused


@pytest.mark.parametrize(("code", "amount"), [("T1201", "10.00"), ("T1202", "-10.00"), ("T0106", "20.00")])
def test_a_dispute_movement_of_the_wrong_sign_is_refused_with_its_reason(code, amount):
    info = {"transaction_id": "X", "transaction_event_code": code, "transaction_status": "S",
            "transaction_initiation_date": "2026-11-20T10:00:00+0000",
            "transaction_amount": {"currency_code": "USD", "value": amount}}  # fmt: skip
    record = PAYPAL_FORMAT.record.validate_python({"transaction_info": info})
    canonical = make("paypal", "http://127.0.0.1:9").canonical([record], "/v1/reporting/transactions")
    assert "with a" in canonical.refused[0] and canonical.columns["kind"][0] in canonical.refused[0]


def test_paypal_offsets_in_both_styles():
    """PayPal's spec writes +00:00, its live responses +0000: both are read, to the same moment."""
    info = {"transaction_id": "X", "transaction_event_code": "T0006", "transaction_status": "S",
            "transaction_amount": {"currency_code": "USD", "value": "1.00"}}  # fmt: skip
    read = [
        PAYPAL_FORMAT.record.validate_python({"transaction_info": {**info, "transaction_initiation_date": stamp}})
        for stamp in ("2026-11-20T10:00:00+0000", "2026-11-20T10:00:00+00:00", "2026-11-20T12:00:00+0200")
    ]
    assert len({r.transaction_info.transaction_initiation_date for r in read}) == 1


def test_stripe_record_repeated_across_pages_is_kept_once_and_counted(sandbox, sandbox_config):
    requests.post(f"{sandbox.url}/_sandbox/settings", json={"stripe_repeat_across_pages": True}, timeout=5)
    records, result = fetch(make("stripe", sandbox.url))
    assert day_of(records) == processor_records(sandbox_config, "stripe", DAY)
    assert result.stats.duplicates_dropped == result.stats.pages - len(STRIPE_FORMATS) > 0  # but each list's first


def test_paypal_disputes_updated_on_a_day_are_read_page_by_page_with_their_payments(
    sandbox, sandbox_config, monkeypatch
):
    """The Disputes API lists a summary; each dispute is read by id for the payment it concerns."""
    monkeypatch.setattr(paypal, "DISPUTES_PER_PAGE", 3)  # the day's eleven disputes over four pages
    read = make("paypal", sandbox.url).disputes(DAY)
    planted = world(sandbox_config, "paypal", DAY).disputes.disputes
    assert sorted((d.reference, d.payment, d.amount_minor, d.currency, d.status, d.due_by) for d in read) == sorted(
        (d.dispute_id, d.payment_id, d.amount_minor, d.currency, d.status, d.due_by) for d in planted
    )
    assert len(read) == 11 and {d.status for d in read} == {"RESOLVED", "UNDER_REVIEW", "WAITING_FOR_SELLER_RESPONSE"}


def test_stripe_disputes_of_a_day_are_those_its_events_changed_and_those_opened_on_it(
    sandbox, sandbox_config, monkeypatch
):
    """The disputes list filters on creation only: a dispute's later change comes from the day's dispute events,
    each dispute as it stood after its last change that day; a dispute opened on the day is listed as it stands
    now (the sandbox's later day), dated by its last money movement."""
    monkeypatch.setattr(StripeClient, "records_per_page", 4)  # the day's nine events over three pages
    read = make("stripe", sandbox.url).disputes(DAY)
    changed = world(sandbox_config, "stripe", DAY).disputes.disputes
    opened = [d for d in world(sandbox_config, "stripe", DAY + timedelta(days=OPENED_DAYS_BEFORE)).disputes.disputes
              if d.created.date() == DAY]  # fmt: skip
    assert len(changed) == 9 and len(opened) == 8
    assert sorted((d.reference, d.payment, d.amount_minor, d.currency, d.status, d.due_by, d.updated_at)
                  for d in read) == sorted(
        (d.dispute_id, d.payment_id, d.amount_minor, d.currency, d.status, d.due_by, d.updated)
        for d in (*changed, *opened)
    )  # fmt: skip
    won_lost = {d.reference: d.outcome for d in read if d.status in ("won", "lost")}
    assert set(won_lost.values()) == {"won", "lost"} and all(d.opened_on == d.updated_at.date() - timedelta(
        days=OPENED_DAYS_BEFORE) for d in read if d.stage == "chargeback")  # fmt: skip


def test_square_disputes_of_a_day_are_those_its_list_says_were_updated_on_it(sandbox, sandbox_config):
    """Square's list has no date filter: every dispute of the account, page after page, with its state and last
    update; those updated on the day are the day's."""
    read = make("square", sandbox.url).disputes(DAY)
    planted = world(sandbox_config, "square", DAY).disputes.disputes
    assert sorted((d.reference, d.payment, d.amount_minor, d.currency, d.status, d.due_by, d.updated_at, d.opened_on)
                  for d in read) == sorted(
        (d.dispute_id, d.payment_id, d.amount_minor, d.currency, d.status, d.due_by, d.updated, d.created.date())
        for d in planted
    )  # fmt: skip
    assert len(read) == 8 and {d.outcome for d in read} == {"won", "lost", None}
    assert sandbox.state.requests["/v2/disputes"] > 1  # the account's whole list, over several pages


def test_payout_items_are_named_for_what_they_settled(sandbox):
    """A dispute's money (withdrawn with its fee, returned), a hold and its release, an adjustment: each item
    named, the dispute's by its reference; anything else is other."""
    added = {}

    def stripe_items(exchange, n):
        if exchange.params.get("payout") and exchange.body.get("data") and not added.get("stripe"):
            added["stripe"] = True
            like = exchange.body["data"][0]
            exchange.body["data"] += [
                {**like, "id": "txn_dp1", "type": "adjustment", "reporting_category": "dispute", "source": "dp_1",
                 "amount": -5000, "fee": 1500, "net": -6500},
                {**like, "id": "txn_dp2", "type": "adjustment", "reporting_category": "dispute_reversal",
                 "source": "dp_2", "amount": 5000, "fee": 0, "net": 5000},
                {**like, "id": "txn_adj", "type": "adjustment", "reporting_category": "other_adjustment",
                 "source": "ia_1", "amount": -100, "fee": 0, "net": -100},
                {**like, "id": "txn_tr", "type": "transfer", "reporting_category": "transfer", "source": "tr_1",
                 "amount": -200, "fee": 0, "net": -200},
            ]  # fmt: skip

    def square_entries(exchange, n):
        if exchange.path.endswith("/payout-entries") and not added.get("square"):
            added["square"] = True
            like = exchange.body["payout_entries"][0]
            currency = like["net_amount_money"]["currency"]

            def entry(ident, kind, net, **details):
                money = {"amount": net, "currency": currency}
                return {"id": ident, "payout_id": like["payout_id"], "effective_at": like["effective_at"], "type": kind,
                        "gross_amount_money": money, "fee_amount_money": {"amount": 0, "currency": currency},
                        "net_amount_money": money, **details}  # fmt: skip

            exchange.body["payout_entries"] += [
                entry("pe_open", "OPEN_DISPUTE", -3000, type_open_dispute_details={"dispute_id": "sqd_1"}),
                entry("pe_won", "DISPUTE", 3000, type_dispute_details={"dispute_id": "sqd_1", "payment_id": "p1"}),
                entry("pe_hold", "HOLD_ADJUSTMENT", -1000),
                entry("pe_release", "RELEASE_ADJUSTMENT", 1000),
                entry("pe_fee", "FEE", -50),
            ]

    named = {}
    with MisbehavingProxy(sandbox.url, {"/v1/balance_transactions": stripe_items, "/v2/payouts/": square_entries}
                          ) as proxy:  # fmt: skip
        for name in ("stripe", "square"):
            _, items = make(name, proxy.url).payouts(DAY)
            named |= {i.item_id: (i.kind, i.processor_txn_id, i.net_minor, i.fee_minor) for i in items}
    assert added == {"stripe": True, "square": True}
    assert {k: v for k, v in named.items() if k in ("txn_dp1", "txn_dp2", "txn_adj", "txn_tr")} == {
        "txn_dp1": ("chargeback", "dp_1", -6500, 1500), "txn_dp2": ("chargeback_reversal", "dp_2", 5000, 0),
        "txn_adj": ("adjustment", None, -100, 0), "txn_tr": ("other", None, -200, 0),
    }  # fmt: skip
    assert {k: v[:2] for k, v in named.items() if k.startswith("pe_")} == {
        "pe_open": ("chargeback", "sqd_1"), "pe_won": ("chargeback_reversal", "sqd_1"), "pe_hold": ("hold", None),
        "pe_release": ("hold_release", None), "pe_fee": ("other", None),
    }  # fmt: skip

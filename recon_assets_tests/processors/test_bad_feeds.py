"""What a feed can carry that is not what the API documents: each bad record is quarantined with its reason
and the rest kept; an unreadable page or a dead endpoint fails the fetch at once, in one line."""

import copy
import time

import pytest

from recon_assets.processors.base import CONFLICT_REASON, BrokenEnvelope
from recon_assets.processors.http import ApiError, RetryPolicy
from recon_assets.sandbox.world import processor_records
from recon_assets_tests.misbehaving import MisbehavingProxy
from recon_assets_tests.processors.clients import DAY, fetch, make


@pytest.fixture
def proxy(sandbox):
    with MisbehavingProxy(sandbox.url) as server:
        yield server


def first_page(rule):
    """A rule applied to the first page of charges only."""

    def apply(exchange, n):
        if n == 1:
            rule(exchange.body["data"])

    return apply


def day_ids(sandbox_config):
    return {txn for txn, _ in processor_records(sandbox_config, "stripe", DAY)}


def test_entries_that_are_not_objects_are_quarantined_and_the_rest_kept(proxy, sandbox_config):
    def interleave(data):
        data.insert(1, "ch_not_an_object")
        data.extend([None, 42, ["a", "list"]])

    proxy.rules["/v1/charges"] = first_page(interleave)
    records, result = fetch(make("stripe", proxy.url))
    reasons = sorted(q.reason for q in result.quarantine)
    assert reasons == ["not a JSON object but a JSON NoneType", "not a JSON object but a JSON int",
                       "not a JSON object but a JSON list", "not a JSON object but a JSON str"]  # fmt: skip
    assert {q.raw for q in result.quarantine if isinstance(q.raw, str | int)} == {"ch_not_an_object", 42}
    assert {r.processor_txn_id for r in records} == day_ids(sandbox_config)


def test_a_page_without_its_list_fails_in_one_line_naming_the_page(proxy):
    def drop_data(exchange, n):
        if n == 2:
            del exchange.body["data"]

    proxy.rules["/v1/charges"] = drop_data
    with pytest.raises(BrokenEnvelope) as info:
        fetch(make("stripe", proxy.url))
    message = str(info.value)
    assert message.startswith("stripe API /v1/charges: HTTP 200: page 2 has no 'data' list") and "\n" not in message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": 1e20}, "amount"),  # a JSON float
        ({"amount": 10**20}, "amount"),  # a JSON integer beyond bigint
        ({"amount": -500}, "a charge with a negative amount"),
        ({"amount": "12.50"}, "valid integer"),
        ({"currency": "zzz"}, "unknown ISO 4217 currency"),
        ({"created": "yesterday"}, "valid integer"),
        ({"id": None}, "id"),
    ],
)
def test_records_the_warehouse_cannot_hold_or_that_contradict_themselves_are_quarantined(
    proxy, sandbox_config, change, reason
):
    victim = {}

    def spoil(data):
        victim.update(id=data[0]["id"])
        data[0].update(change)

    proxy.rules["/v1/charges"] = first_page(spoil)
    records, result = fetch(make("stripe", proxy.url))
    (quarantined,) = result.quarantine
    assert reason in quarantined.reason and quarantined.raw[next(iter(change))] == next(iter(change.values()))
    assert {r.processor_txn_id for r in records} == day_ids(sandbox_config) - {victim["id"]}


def test_conflicting_versions_of_one_id_are_all_quarantined_identical_repeats_dropped(proxy, sandbox_config):
    kept = {}

    def repeat(exchange, n):
        data = exchange.body["data"]
        if n == 1:
            kept["first"] = copy.deepcopy(data[0])
        elif n == 2:
            data.append({**kept["first"], "amount": kept["first"]["amount"] + 99100})  # another version
            data.append(copy.deepcopy(kept["first"]))  # the same record again

    proxy.rules["/v1/charges"] = repeat
    records, result = fetch(make("stripe", proxy.url))
    conflicted = kept["first"]["id"]
    assert result.conflicting_ids == {conflicted}
    assert [(q.record_id, q.reason) for q in result.quarantine] == [(conflicted, CONFLICT_REASON)]
    assert result.stats.duplicates_dropped == 1
    # the first version was already streamed out: the landing withdraws it (see the landing test)
    assert conflicted in {r.processor_txn_id for r in records}


def test_a_dead_endpoint_fails_at_once_instead_of_every_stream_retrying(proxy):
    """An HTML 502 from every request: once one stream gives up, the others are cancelled, mid-backoff."""

    def dead(exchange, n):
        exchange.status, exchange.content_type = 502, "text/html"
        exchange.raw = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

    proxy.rules["/v1/"] = dead
    policy = RetryPolicy(max_attempts=6, base_delay=0.2, max_delay=2.0, budget_seconds=60)
    client = make("stripe", proxy.url, windows=16, workers=8, policy=policy)  # 32 streams
    started = time.monotonic()
    with pytest.raises(ApiError) as info:
        fetch(client)
    elapsed = time.monotonic() - started
    assert info.value.status == 502 and "gave up after 6 attempts" in str(info.value)
    assert "\n" not in str(info.value) and "/v1/" in str(info.value)
    requests_made = sum(n for path, n in proxy.counts.items() if path.startswith("/v1/"))
    # 8 streams at work when the first gives up; without cancelling, all 32 would retry 6 times (192)
    assert requests_made <= 8 * 6 + 8, requests_made
    assert elapsed < 20, elapsed

"""The sources' clients as the tests build them: the sandbox's credentials, quick retries."""

from collections import namedtuple
from datetime import date

from recon_assets.processors.http import HttpClient, RetryPolicy
from recon_assets.processors.registry import SOURCES
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS as C

DAY = date(2026, 11, 20)
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, budget_seconds=5)


def make(name, url, windows=1, workers=1, policy=FAST, requests_per_second=None, **options):
    """The source's client against ``url`` with the sandbox's credentials (the ledger's narrowed to Stripe)."""
    if name == "ledger":
        options.setdefault("processor", "stripe")
    http = HttpClient(name, url, policy, requests_per_second=requests_per_second)
    return SOURCES[name].client_class(http, *C[name], windows=windows, workers=workers, **options)


def fetch(client, day: date = DAY):
    """Every record of the day (its fields by name), and the fetch's result (quarantine, statistics)."""
    record = namedtuple("Record", (*client.layout.fields, "page_no", "page_index"))
    with client.fetch_day(day) as result:
        records = [record(**row) for batch in result.batches for row in batch.records.to_pylist()]
    return records, result

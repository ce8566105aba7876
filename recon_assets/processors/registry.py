"""Every outside API recon reads, one spec each: the processors and the internal ledger.

A new processor touches four places: its client class (``processors/<name>.py``), its entry in ``PROCESSORS``
(credential variables, base URL, finality, pace, where it reports fees), its sandbox module
(``sandbox/<name>.py``: credentials, routes and wire formats, found by the source's name), and the
deployment's credential lists (``.env.example``, Terraform's secrets). Its resource, concurrency pool, assets,
CLI choices and sandbox endpoints follow from those. The sandbox world's habits per processor (its currency
mix in ``sandbox/world.py``, its payout timing and bank counterparty in ``sandbox/settlement.py``) need an
entry there too, for its generated days to look like the processor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from recon_assets.processors.base import SourceClient
from recon_assets.processors.ledger import LedgerClient
from recon_assets.processors.paypal import PayPalClient
from recon_assets.processors.square import SquareClient
from recon_assets.processors.stripe import StripeClient


@dataclass(frozen=True)
class SourceSpec:
    name: str
    display_name: str
    client_class: type[SourceClient]
    key_variable: str  # the API key, token or client id
    base_url_variable: str
    default_base_url: str | None  # None: an internal API whose address must be configured
    finality_lag: timedelta  # how late the source may still show a day's records
    # requests per second recon allows itself against the real API (None: no limit): deployment/README.md,
    # "A year's backfill"
    requests_per_second: float | None
    secret_variable: str | None = None  # the client secret, for APIs that have one
    fees_on_payout_items: bool = False  # a charge's fee is reported on its payout's items (else on the payment)
    lists_disputes: bool = False  # its client reads the disputes updated on a day (``disputes``)

    @property
    def resource_key(self) -> str:
        return f"{self.name}_api"

    @property
    def pool(self) -> str:
        """The Dagster concurrency pool that bounds concurrent calls into this API."""
        return self.resource_key


PROCESSORS: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        # Stripe documents 100 requests/s per live account and 25/s per endpoint unless noted
        SourceSpec("stripe", "Stripe", StripeClient, "STRIPE_API_KEY", "STRIPE_API_BASE",
                   "https://api.stripe.com", timedelta(minutes=15), requests_per_second=25, fees_on_payout_items=True,
                   lists_disputes=True),
        # PayPal and Square publish no number (only HTTP 429): a conservative rate of our choosing
        SourceSpec("paypal", "PayPal", PayPalClient, "PAYPAL_CLIENT_ID", "PAYPAL_API_BASE",
                   "https://api-m.paypal.com", timedelta(hours=3), requests_per_second=10,
                   secret_variable="PAYPAL_CLIENT_SECRET", lists_disputes=True),  # noqa: S106 - a variable's name
        SourceSpec("square", "Square", SquareClient, "SQUARE_ACCESS_TOKEN", "SQUARE_API_BASE",
                   "https://connect.squareup.com", timedelta(minutes=15), requests_per_second=10,
                   fees_on_payout_items=True, lists_disputes=True),
    )
}  # fmt: skip

# The ledger books every processor's movements, so its day is final when the slowest processor's is.
LEDGER = SourceSpec(
    "ledger", "Internal ledger", LedgerClient, "LEDGER_API_TOKEN", "LEDGER_API_BASE", None,
    max(spec.finality_lag for spec in PROCESSORS.values()), requests_per_second=None,  # our own service
)  # fmt: skip

SOURCES: dict[str, SourceSpec] = {**PROCESSORS, LEDGER.name: LEDGER}

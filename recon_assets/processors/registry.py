"""The processors the platform reconciles. A new processor is a client class and one entry here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from recon_assets.processors.base import SourceClient
from recon_assets.processors.paypal import PayPalClient
from recon_assets.processors.square import SquareClient
from recon_assets.processors.stripe import StripeClient


@dataclass(frozen=True)
class ProcessorSpec:
    name: str
    display_name: str
    client_class: type[SourceClient]
    default_base_url: str
    finality_lag: timedelta  # how late the processor may still show a day's records

    @property
    def resource_key(self) -> str:
        return f"{self.name}_api"


PROCESSORS: dict[str, ProcessorSpec] = {
    spec.name: spec
    for spec in (
        ProcessorSpec("stripe", "Stripe", StripeClient, "https://api.stripe.com", timedelta(minutes=15)),
        ProcessorSpec("paypal", "PayPal", PayPalClient, "https://api-m.paypal.com", timedelta(hours=3)),
        ProcessorSpec("square", "Square", SquareClient, "https://connect.squareup.com", timedelta(minutes=15)),
    )
}

"""One resource per outside system we read: each processor's API and the internal ledger's API.

A resource whose credentials are unset reads from the sandbox, served in process over loopback, so the
same client code runs with and without credentials.
"""

from __future__ import annotations

import os

import dagster as dg

from recon_assets.partitions import env_or_none
from recon_assets.processors.base import SourceClient
from recon_assets.processors.http import HttpClient, RetryPolicy
from recon_assets.processors.ledger import LedgerClient
from recon_assets.processors.paypal import PayPalClient
from recon_assets.processors.registry import PROCESSORS
from recon_assets.processors.square import SquareClient
from recon_assets.processors.stripe import StripeClient
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS, in_process_server
from recon_assets.sandbox.world import SandboxConfig


class SourceApiResource(dg.ConfigurableResource):
    """Connection, retry and paging settings shared by every source API."""

    base_url: str | None = None
    fetch_windows: int = 8
    fetch_workers: int = 4
    max_attempts: int = 6
    retry_budget_seconds: float = 120.0
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0
    sandbox_seed: int = 7
    sandbox_daily_volume: int = 300

    def credentials(self) -> dict[str, str] | None:
        """The configured credentials, or None when unset (sandbox mode)."""
        raise NotImplementedError

    def default_base_url(self) -> str:
        raise NotImplementedError

    @property
    def is_sandbox(self) -> bool:
        return self.credentials() is None

    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(seed=self.sandbox_seed, daily_volume=self.sandbox_daily_volume)

    def http(self, source: str) -> HttpClient:
        if self.base_url:
            base = self.base_url
        elif self.is_sandbox:
            base = in_process_server(self.sandbox_config()).url
        else:
            base = self.default_base_url()
        policy = RetryPolicy(
            max_attempts=self.max_attempts,
            budget_seconds=self.retry_budget_seconds,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
        )
        return HttpClient(source, base, policy)

    def client(self) -> SourceClient:
        raise NotImplementedError

    def _paging(self) -> dict[str, int]:
        return {"windows": self.fetch_windows, "workers": self.fetch_workers}


class StripeApiResource(SourceApiResource):
    """Stripe API (STRIPE_API_KEY, STRIPE_API_BASE)."""

    api_key: str | None = None

    def credentials(self):
        return {"api_key": self.api_key} if self.api_key else None

    def default_base_url(self) -> str:
        return PROCESSORS["stripe"].default_base_url

    def client(self) -> StripeClient:
        creds = self.credentials() or {"api_key": SANDBOX_CREDENTIALS["stripe_api_key"]}
        return StripeClient(self.http("stripe"), **creds, **self._paging())


class PayPalApiResource(SourceApiResource):
    """PayPal REST API (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, PAYPAL_API_BASE)."""

    client_id: str | None = None
    client_secret: str | None = None

    def credentials(self):
        if self.client_id and self.client_secret:
            return {"client_id": self.client_id, "client_secret": self.client_secret}
        return None

    def default_base_url(self) -> str:
        return PROCESSORS["paypal"].default_base_url

    def client(self) -> PayPalClient:
        creds = self.credentials() or {
            "client_id": SANDBOX_CREDENTIALS["paypal_client_id"],
            "client_secret": SANDBOX_CREDENTIALS["paypal_client_secret"],
        }
        return PayPalClient(self.http("paypal"), **creds, **self._paging())


class SquareApiResource(SourceApiResource):
    """Square API (SQUARE_ACCESS_TOKEN, SQUARE_API_BASE)."""

    access_token: str | None = None

    def credentials(self):
        return {"access_token": self.access_token} if self.access_token else None

    def default_base_url(self) -> str:
        return PROCESSORS["square"].default_base_url

    def client(self) -> SquareClient:
        creds = self.credentials() or {"access_token": SANDBOX_CREDENTIALS["square_access_token"]}
        return SquareClient(self.http("square"), **creds, **self._paging())


class LedgerApiResource(SourceApiResource):
    """Internal ledger API (LEDGER_API_TOKEN, LEDGER_API_BASE), per shared/contracts/ledger-api.yaml."""

    token: str | None = None

    def credentials(self):
        return {"token": self.token} if self.token else None

    def default_base_url(self) -> str:
        raise dg.Failure("LEDGER_API_BASE must be set when LEDGER_API_TOKEN is set")

    def client(self) -> LedgerClient:
        creds = self.credentials() or {"token": SANDBOX_CREDENTIALS["ledger_api_token"]}
        return LedgerClient(self.http("ledger"), **creds)


def _sandbox_settings() -> dict[str, int]:
    return {
        "sandbox_seed": int(os.environ.get("RECON_SANDBOX_SEED", "7")),
        "sandbox_daily_volume": int(os.environ.get("RECON_SANDBOX_DAILY_VOLUME", "300")),
    }


def source_api_resources() -> dict[str, SourceApiResource]:
    sandbox = _sandbox_settings()
    return {
        "stripe_api": StripeApiResource(
            api_key=env_or_none("STRIPE_API_KEY"), base_url=env_or_none("STRIPE_API_BASE"), **sandbox
        ),
        "paypal_api": PayPalApiResource(
            client_id=env_or_none("PAYPAL_CLIENT_ID"),
            client_secret=env_or_none("PAYPAL_CLIENT_SECRET"),
            base_url=env_or_none("PAYPAL_API_BASE"),
            **sandbox,
        ),
        "square_api": SquareApiResource(
            access_token=env_or_none("SQUARE_ACCESS_TOKEN"), base_url=env_or_none("SQUARE_API_BASE"), **sandbox
        ),
        "ledger_api": LedgerApiResource(
            token=env_or_none("LEDGER_API_TOKEN"), base_url=env_or_none("LEDGER_API_BASE"), **sandbox
        ),
    }


class DataQualitySettings(dg.ConfigurableResource):
    """Bounds of the data-quality checks; set in the launchpad or the environment, no code change."""

    max_abs_amount_major: int = 1_000_000  # one movement above this (in major units) is implausible
    min_weekly_average_for_outage: float = 10.0  # an empty day after a week this busy is a possible outage
    max_ledger_duplicate_rate: float = 0.02


@dg.definitions
def ingestion_resources() -> dg.Definitions:
    return dg.Definitions(resources={**source_api_resources(), "data_quality_settings": DataQualitySettings()})

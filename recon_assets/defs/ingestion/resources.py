"""One resource per outside API we read, all of one class: each processor's API and the internal ledger's.

In sandbox mode (``RECON_MODE``) every source reads the sandbox, served in process over loopback (or at a
given base URL), with the sandbox's credentials: no real credential is read. In live mode every source is
read for real, and one whose credentials are missing refuses in one line; it never falls back to the
sandbox. The same client code runs in both.
"""

from __future__ import annotations

import dagster as dg

from recon_assets.environment import SANDBOX_SETTINGS, from_environment, misconfigured
from recon_assets.processors.base import SourceClient
from recon_assets.processors.http import HttpClient, RetryPolicy
from recon_assets.processors.registry import SOURCES, SourceSpec
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS, in_process_server
from recon_assets.sandbox.world import SandboxConfig, account_config
from recon_assets.settings import is_live


class SourceApiResource(dg.ConfigurableResource):
    """An outside API (``source`` names it: stripe, paypal, square or ledger): credentials, address,
    retries and paging. Unless ``live``, it is the deterministic sandbox."""

    source: str
    live: bool = False  # RECON_MODE=live: the real API, with these credentials
    key: str | None = None  # the API key, token or client id
    secret: str | None = None  # the client secret, for APIs that have one
    base_url: str | None = None
    fetch_windows: int = 8  # the day is read as this many time windows ...
    fetch_workers: int = 4  # ... by this many concurrent workers
    # at most this many requests per second; unset: the API's documented limit (the sandbox has none)
    max_requests_per_second: float | None = None
    max_attempts: int = RetryPolicy.max_attempts
    retry_budget_seconds: float = RetryPolicy.budget_seconds
    connect_timeout_seconds: float = RetryPolicy.connect_timeout
    read_timeout_seconds: float = RetryPolicy.read_timeout
    sandbox_seed: int = SandboxConfig.seed
    sandbox_daily_volume: int = SandboxConfig.daily_volume
    sandbox_stripe_converts: str = ""  # the currencies the sandbox's Stripe account settles in USD, comma-separated

    @property
    def spec(self) -> SourceSpec:
        return SOURCES[self.source]

    @property
    def is_sandbox(self) -> bool:
        return not self.live

    def sandbox_config(self) -> SandboxConfig:
        return account_config(self.sandbox_seed, self.sandbox_daily_volume, self.sandbox_stripe_converts)

    def address(self) -> str:
        """Where the client calls: the configured base URL, the API's public one, or the sandbox's. In live
        mode a source missing any of its settings refuses here, naming each."""
        spec = self.spec
        if self.is_sandbox:
            return self.base_url or in_process_server(self.sandbox_config()).url
        given = {spec.key_variable: self.key, spec.secret_variable: self.secret,
                 spec.base_url_variable: self.base_url or spec.default_base_url}  # fmt: skip
        missing = [variable for variable, value in given.items() if variable and not value]
        if missing:
            raise misconfigured(f"{' and '.join(missing)} must be set in live mode (RECON_MODE=live)")
        return self.base_url or spec.default_base_url

    def requests_per_second(self) -> float | None:
        if self.max_requests_per_second is not None:
            return self.max_requests_per_second or None  # 0: no limit
        return None if self.is_sandbox else self.spec.requests_per_second

    def client(self, policy: RetryPolicy | None = None) -> SourceClient:
        """The source's client, retrying as configured (or by ``policy``: ``recon doctor`` tries once)."""
        spec, address = self.spec, self.address()
        key, secret = SANDBOX_CREDENTIALS[self.source] if self.is_sandbox else (self.key, self.secret)
        policy = policy or RetryPolicy(
            max_attempts=self.max_attempts,
            budget_seconds=self.retry_budget_seconds,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
        )
        http = HttpClient(self.source, address, policy, requests_per_second=self.requests_per_second())
        return spec.client_class(http, key, secret, windows=self.fetch_windows, workers=self.fetch_workers)


def source_api_resource(spec: SourceSpec) -> SourceApiResource:
    """The resource of one source: in live mode bound to its credential and address variables, in sandbox
    mode to the sandbox's settings only (a credential in the environment is not read)."""
    if is_live():
        bound = from_environment(key=spec.key_variable, base_url=spec.base_url_variable,
                                 **({"secret": spec.secret_variable} if spec.secret_variable else {}))  # fmt: skip
        return SourceApiResource(source=spec.name, live=True, **bound)
    return SourceApiResource(source=spec.name, **from_environment(**SANDBOX_SETTINGS))


class DataQualitySettings(dg.ConfigurableResource):
    """Bounds of the data-quality checks; set in the launchpad or the environment, no code change."""

    # one movement above this, in the reporting currency, is unusual: reconciled, and flagged for a look
    large_amount: str = "1000000"
    max_quarantined_share: float = 0.5  # a day with more of its feed unreadable than this is not reconciled
    min_weekly_average_for_outage: float = 10.0  # a collapse is only judged after a week this busy
    min_fraction_of_trailing_average: float = 0.2  # a day below this share of the week's average has collapsed
    max_ledger_duplicate_rate: float = 0.02


@dg.definitions
def ingestion_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            **{spec.resource_key: source_api_resource(spec) for spec in SOURCES.values()},
            "data_quality_settings": DataQualitySettings(),
        }
    )

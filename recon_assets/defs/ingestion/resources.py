"""One resource per outside API we read, all of one class: each processor's API and the internal ledger's.

A source whose credentials are unset reads from the sandbox, served in process over loopback, so the
same client code runs with and without credentials.
"""

from __future__ import annotations

import dagster as dg

from recon_assets.environment import from_environment, misconfigured
from recon_assets.processors.base import SourceClient
from recon_assets.processors.http import HttpClient, RetryPolicy
from recon_assets.processors.registry import SOURCES, SourceSpec
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS, in_process_server
from recon_assets.sandbox.world import SandboxConfig


class SourceApiResource(dg.ConfigurableResource):
    """An outside API (``source`` names it: stripe, paypal, square or ledger): credentials, address,
    retries and paging. Without credentials it is the deterministic sandbox."""

    source: str
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

    @property
    def spec(self) -> SourceSpec:
        return SOURCES[self.source]

    @property
    def is_sandbox(self) -> bool:
        return not self.key

    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(seed=self.sandbox_seed, daily_volume=self.sandbox_daily_volume)

    def _base_url(self) -> str:
        spec = self.spec
        if self.base_url:
            return self.base_url
        if self.is_sandbox:
            return in_process_server(self.sandbox_config()).url
        if spec.default_base_url is None:
            raise misconfigured(f"{spec.base_url_variable} must be set when {spec.key_variable} is set")
        return spec.default_base_url

    def requests_per_second(self) -> float | None:
        if self.max_requests_per_second is not None:
            return self.max_requests_per_second or None  # 0: no limit
        return None if self.is_sandbox else self.spec.requests_per_second

    def client(self) -> SourceClient:
        spec = self.spec
        if self.is_sandbox:
            key, secret = SANDBOX_CREDENTIALS[self.source]
        elif spec.secret_variable and not self.secret:
            raise misconfigured(f"{spec.secret_variable} must be set when {spec.key_variable} is set")
        else:
            key, secret = self.key, self.secret
        policy = RetryPolicy(
            max_attempts=self.max_attempts,
            budget_seconds=self.retry_budget_seconds,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
        )
        http = HttpClient(self.source, self._base_url(), policy, requests_per_second=self.requests_per_second())
        return spec.client_class(http, key, secret, windows=self.fetch_windows, workers=self.fetch_workers)


def source_api_resource(spec: SourceSpec) -> SourceApiResource:
    """The resource of one source, bound to its variables (and the sandbox's) where they are set."""
    return SourceApiResource(
        source=spec.name,
        **from_environment(
            key=spec.key_variable,
            base_url=spec.base_url_variable,
            sandbox_seed=dg.EnvVar.int("RECON_SANDBOX_SEED"),
            sandbox_daily_volume=dg.EnvVar.int("RECON_SANDBOX_DAILY_VOLUME"),
            **({"secret": spec.secret_variable} if spec.secret_variable else {}),
        ),
    )


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

"""Reconciliation settings: reporting currency, exchange rates, tolerances and risk thresholds."""

from __future__ import annotations

import json
from decimal import Decimal

import dagster as dg

from recon_assets.domain.money import SANDBOX_RATES_TO_USD, FxRates
from recon_assets.domain.risk import RiskThresholds
from recon_assets.partitions import env_or_none


class ReconciliationSettings(dg.ConfigurableResource):
    """Typed settings; every field can be set from the environment or the launchpad, no code change."""

    reporting_currency: str = "USD"
    fx_rates_json: str | None = None  # {"EUR": "1.08", ...}: reporting-currency value of one unit
    tolerance_minor_json: str | None = None  # {"USD": 1}: allowed absolute difference in minor units
    critical_missing: int = 50
    critical_amount: str = "50000"
    high_missing: int = 20
    high_amount: str = "10000"
    medium_missing: int = 5
    medium_amount: str = "1000"

    def rates(self) -> FxRates:
        rates = json.loads(self.fx_rates_json) if self.fx_rates_json else SANDBOX_RATES_TO_USD
        return FxRates(rates, self.reporting_currency)

    def tolerance(self) -> dict[str, int]:
        return {k.upper(): int(v) for k, v in json.loads(self.tolerance_minor_json or "{}").items()}

    def thresholds(self) -> RiskThresholds:
        return RiskThresholds(
            critical_missing=self.critical_missing,
            critical_amount=Decimal(self.critical_amount),
            high_missing=self.high_missing,
            high_amount=Decimal(self.high_amount),
            medium_missing=self.medium_missing,
            medium_amount=Decimal(self.medium_amount),
        )


@dg.definitions
def reconciliation_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "reconciliation_settings": ReconciliationSettings(
                fx_rates_json=env_or_none("RECON_FX_RATES_JSON"),
                tolerance_minor_json=env_or_none("RECON_TOLERANCE_MINOR_JSON"),
            )
        }
    )

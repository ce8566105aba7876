"""Reconciliation settings: reporting currency, exchange rates, tolerances and risk thresholds."""

from __future__ import annotations

import json
from decimal import Decimal

import dagster as dg

from recon_assets.domain.money import SANDBOX_RATES_TO_USD, FxRates
from recon_assets.domain.risk import RiskThresholds
from recon_assets.domain.rules import MatchingRules, RuleError, rules_from_json
from recon_assets.environment import from_environment, misconfigured
from recon_assets.processors.registry import any_source_configured

_DEFAULT = RiskThresholds()


class ReconciliationSettings(dg.ConfigurableResource):
    """Typed settings; every field can be set from the environment or the launchpad, no code change.

    Risk thresholds default to ``RiskThresholds``'s (amounts in the reporting currency).
    """

    reporting_currency: str = "USD"
    fx_rates_json: str | None = None  # {"EUR": "1.08", ...}: reporting-currency value of one unit
    tolerance_minor_json: str | None = None  # {"USD": 1}: allowed absolute difference in minor units
    # per processor, the named matching rules (exact_reference, split_booking, split_tender), e.g.
    # {"stripe": {"split_tender": {"absolute_minor": {"USD": 5}, "percent": {"USD": "0.5"}, "date_drift_days": 1}}}
    matching_rules_json: str | None = None
    # False once any source is read for real: amounts at risk must then be priced with real rates
    sandbox_rates_allowed: bool = True
    critical_missing: int = _DEFAULT.critical_missing
    critical_amount: str = str(_DEFAULT.critical_amount)
    high_missing: int = _DEFAULT.high_missing
    high_amount: str = str(_DEFAULT.high_amount)
    medium_missing: int = _DEFAULT.medium_missing
    medium_amount: str = str(_DEFAULT.medium_amount)

    def rates(self) -> FxRates:
        if self.fx_rates_json:
            try:
                rates = json.loads(self.fx_rates_json)
                return FxRates(rates, self.reporting_currency)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise misconfigured(f"RECON_FX_RATES_JSON is not a JSON object of decimal rates: {exc}") from None
        if not self.sandbox_rates_allowed:
            raise misconfigured(
                "RECON_FX_RATES_JSON must be set: real credentials are configured, and the sandbox's fixed "
                "exchange rates would misprice every amount at risk"
            )
        return FxRates(SANDBOX_RATES_TO_USD, self.reporting_currency)

    def tolerance(self) -> dict[str, int]:
        try:
            return {k.upper(): int(v) for k, v in json.loads(self.tolerance_minor_json or "{}").items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise misconfigured(f"RECON_TOLERANCE_MINOR_JSON is not a JSON object of integers: {exc}") from None

    def rules(self, processor: str) -> MatchingRules:
        """The processor's matching rules; the tolerance above applies to each rule that sets none."""
        try:
            written = json.loads(self.matching_rules_json or "{}")
            if not isinstance(written, dict) or not isinstance(written.get(processor, {}), dict):
                raise RuleError("not a JSON object of processors, each an object of rules")
            return rules_from_json(written.get(processor, {}), processor, self.tolerance())
        except (ValueError, RuleError) as exc:
            raise misconfigured(f"RECON_MATCHING_RULES_JSON: {exc}") from None

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
                sandbox_rates_allowed=not any_source_configured(),
                **from_environment(
                    fx_rates_json="RECON_FX_RATES_JSON",
                    tolerance_minor_json="RECON_TOLERANCE_MINOR_JSON",
                    matching_rules_json="RECON_MATCHING_RULES_JSON",
                ),
            )
        }
    )

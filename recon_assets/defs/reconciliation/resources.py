"""Reconciliation settings: reporting currency, exchange rates, tolerances and risk thresholds."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import dagster as dg

from recon_assets.domain.disputes import DEFAULT_DISPUTE_DUE_DAYS
from recon_assets.domain.money import SANDBOX_RATES_TO_USD, FxRates
from recon_assets.domain.risk import RiskThresholds
from recon_assets.domain.rules import MatchingRules, RuleError, Tolerance, rules_from_json
from recon_assets.environment import from_environment, misconfigured
from recon_assets.settings import check_matching_rules, is_live
from recon_assets.warehouse.urls import ConfigurationError

_DEFAULT = RiskThresholds()
_NO_TOLERANCE = Tolerance()


class ToleranceRule(dg.Config):
    """One matching rule's tolerance: absolute (minor units) and percent (of the processor amount, a decimal
    string) per currency, a difference within either accepted; date drift 0 or 1 days."""

    absolute_minor: dict[str, int] = {}
    percent: dict[str, str] = {}
    date_drift_days: int = _NO_TOLERANCE.date_drift_days


class ProcessorMatchingRules(dg.Config):
    """A processor's rules by name, applied in this order after manual matches."""

    exact_reference: ToleranceRule = ToleranceRule()
    split_booking: ToleranceRule = ToleranceRule()
    split_tender: ToleranceRule = ToleranceRule()


def matching_rules_from_environment() -> dict[str, ProcessorMatchingRules]:
    """``RECON_MATCHING_RULES_JSON`` as typed config (checked with every setting: known processors and rules)."""
    raw = os.environ.get("RECON_MATCHING_RULES_JSON")
    if not raw:
        return {}
    try:
        check_matching_rules(raw)
    except ConfigurationError as exc:  # read outside the definitions' own check: a step's one-line failure
        raise misconfigured(str(exc)) from None
    return {processor: ProcessorMatchingRules(**rules) for processor, rules in json.loads(raw).items()}


class ReconciliationSettings(dg.ConfigurableResource):
    """Typed settings; every field can be set from the environment or the launchpad, no code change.

    Risk thresholds default to ``RiskThresholds``'s (amounts in the reporting currency).
    """

    reporting_currency: str = "USD"
    fx_rates_json: str | None = None  # {"EUR": "1.08", ...}: reporting-currency value of one unit
    tolerance_minor_json: str | None = None  # {"USD": 1}: allowed absolute difference in minor units
    # per processor, its matching rules by name (RECON_MATCHING_RULES_JSON, or edited in the launchpad)
    matching_rules: dict[str, ProcessorMatchingRules] = {}
    # False in live mode: amounts at risk must then be priced with real rates
    sandbox_rates_allowed: bool = True
    critical_missing: int = _DEFAULT.critical_missing
    critical_amount: str = str(_DEFAULT.critical_amount)
    high_missing: int = _DEFAULT.high_missing
    high_amount: str = str(_DEFAULT.high_amount)
    medium_missing: int = _DEFAULT.medium_missing
    medium_amount: str = str(_DEFAULT.medium_amount)
    # a dispute waiting on the merchant and due within this many days of a day is listed as due soon on it
    dispute_due_days: int = DEFAULT_DISPUTE_DUE_DAYS

    def rates(self) -> FxRates:
        if self.fx_rates_json:
            try:
                rates = json.loads(self.fx_rates_json)
                return FxRates(rates, self.reporting_currency)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise misconfigured(f"RECON_FX_RATES_JSON is not a JSON object of decimal rates: {exc}") from None
        if not self.sandbox_rates_allowed:
            raise misconfigured(
                "RECON_FX_RATES_JSON must be set in live mode: the sandbox's fixed exchange rates would "
                "misprice every amount at risk"
            )
        return FxRates(SANDBOX_RATES_TO_USD, self.reporting_currency)

    def tolerance(self) -> dict[str, int]:
        try:
            return {k.upper(): int(v) for k, v in json.loads(self.tolerance_minor_json or "{}").items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise misconfigured(f"RECON_TOLERANCE_MINOR_JSON is not a JSON object of integers: {exc}") from None

    def rules(self, processor: str) -> MatchingRules:
        """The processor's matching rules; the tolerance above applies to each rule that sets none."""
        written = self.matching_rules.get(processor)
        try:
            return rules_from_json(written.model_dump() if written else {}, processor, self.tolerance())
        except RuleError as exc:
            raise misconfigured(f"matching_rules: {exc}") from None

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
                sandbox_rates_allowed=not is_live(),
                matching_rules=matching_rules_from_environment(),
                **from_environment(
                    fx_rates_json="RECON_FX_RATES_JSON",
                    tolerance_minor_json="RECON_TOLERANCE_MINOR_JSON",
                    dispute_due_days=dg.EnvVar.int("RECON_DISPUTE_DUE_DAYS"),
                ),
            )
        }
    )

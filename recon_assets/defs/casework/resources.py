"""Exception severity and SLA policy as typed configuration (the launchpad or the environment)."""

from dataclasses import asdict
from decimal import Decimal

import dagster as dg

from recon_assets.domain.casework import ExceptionPolicy

_DEFAULT = ExceptionPolicy()


class ExceptionPolicySettings(dg.ConfigurableResource):
    """Severity thresholds (reporting currency, days open) and days to resolve per severity.

    Defaults are ``ExceptionPolicy``'s.
    """

    critical_amount: str = str(_DEFAULT.critical_amount)
    critical_days: int = _DEFAULT.critical_days
    high_amount: str = str(_DEFAULT.high_amount)
    high_days: int = _DEFAULT.high_days
    medium_amount: str = str(_DEFAULT.medium_amount)
    medium_days: int = _DEFAULT.medium_days
    sla_days_critical: int = _DEFAULT.sla_days_critical
    sla_days_high: int = _DEFAULT.sla_days_high
    sla_days_medium: int = _DEFAULT.sla_days_medium
    sla_days_low: int = _DEFAULT.sla_days_low

    def policy(self) -> ExceptionPolicy:
        values = {name: getattr(self, name) for name in asdict(_DEFAULT)}
        return ExceptionPolicy(**{k: Decimal(v) if k.endswith("_amount") else v for k, v in values.items()})


@dg.definitions
def casework_resources() -> dg.Definitions:
    return dg.Definitions(resources={"exception_policy": ExceptionPolicySettings()})

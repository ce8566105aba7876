"""Exception severity and SLA policy as typed configuration (the launchpad or the environment)."""

from decimal import Decimal

import dagster as dg

from recon_assets.domain.exceptions import ExceptionPolicy


class ExceptionPolicySettings(dg.ConfigurableResource):
    """Severity thresholds (reporting currency, days open) and days to resolve per severity."""

    critical_amount: str = "100000"
    critical_days: int = 5
    high_amount: str = "10000"
    high_days: int = 3
    medium_amount: str = "1000"
    medium_days: int = 1
    sla_days_critical: int = 1
    sla_days_high: int = 3
    sla_days_medium: int = 5
    sla_days_low: int = 7

    def policy(self) -> ExceptionPolicy:
        values = self.model_dump()
        return ExceptionPolicy(**{k: Decimal(v) if k.endswith("_amount") else v for k, v in values.items()})


@dg.definitions
def exception_resources() -> dg.Definitions:
    return dg.Definitions(resources={"exception_policy": ExceptionPolicySettings()})

"""Casework: working discrepancies down. States, resolutions, severity from amount and age, SLAs, age buckets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from recon_assets.domain.money import FxRates


class State(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    AUTO_MATCHED = "auto_matched"  # a later run matched it
    LEDGER_ADJUSTED = "ledger_adjusted"
    PROCESSOR_ERROR = "processor_error"
    WRITTEN_OFF = "written_off"
    FALSE_POSITIVE = "false_positive"
    MANUAL_MATCH = "manual_match"  # a person linked the records that explain it (``recon match``)


# Resolutions that say the data was fixed: if a later run still finds the item, it is reopened.
# Written-off and false-positive items are known and accepted: finding them again changes nothing.
REOPENED_WHEN_FOUND_AGAIN = (
    Resolution.AUTO_MATCHED, Resolution.LEDGER_ADJUSTED, Resolution.PROCESSOR_ERROR, Resolution.MANUAL_MATCH,
)  # fmt: skip
KEPT_WHEN_FOUND_AGAIN = [r.value for r in Resolution if r not in REOPENED_WHEN_FOUND_AGAIN]
# Resolutions a person gives with ``recon resolve``; the others are given by a run or by a manual match.
MANUAL_RESOLUTIONS = tuple(r for r in Resolution if r not in (Resolution.AUTO_MATCHED, Resolution.MANUAL_MATCH))


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class ExceptionPolicy:
    """Severity from the amount at risk (reporting currency) or the days open, whichever is worse; SLA per severity."""

    critical_amount: Decimal = Decimal("100000")
    critical_days: int = 5
    high_amount: Decimal = Decimal("10000")
    high_days: int = 3
    medium_amount: Decimal = Decimal("1000")
    medium_days: int = 1
    sla_days_critical: int = 1
    sla_days_high: int = 3
    sla_days_medium: int = 5
    sla_days_low: int = 7

    def severity(self, amount_at_risk: Decimal, age_days: int) -> Severity:
        for severity, amount, days in (
            (Severity.CRITICAL, self.critical_amount, self.critical_days),
            (Severity.HIGH, self.high_amount, self.high_days),
            (Severity.MEDIUM, self.medium_amount, self.medium_days),
        ):
            if Decimal(amount_at_risk) >= amount or age_days >= days:
                return severity
        return Severity.LOW

    def sla_days(self, severity: Severity) -> int:
        return getattr(self, f"sla_days_{severity.value}")

    def breaches_sla(self, amount_at_risk: Decimal, age_days: int) -> bool:
        return age_days > self.sla_days(self.severity(amount_at_risk, age_days))


def age_days(business_date: date, as_of: date) -> int:
    """How long an exception has been open: days since its business day."""
    return (as_of - business_date).days


AGE_BUCKETS = (("0-1", 0, 1), ("2-7", 2, 7), ("8-30", 8, 30), ("30+", 31, None))


def age_bucket(age_days: int) -> str:
    for label, low, high in AGE_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    raise ValueError(f"negative age: {age_days}")


AGING_COLUMNS = ["processor_name", "age_bucket", "severity", "open_count", "amount_at_risk"]


def aging_table(open_findings: Sequence[tuple], policy: ExceptionPolicy, as_of: date, rates: FxRates) -> list[dict]:
    """Open findings (processor, business date, at-risk minor units, their currency, amount at risk) as the
    backlog: count and amount per processor, age bucket and severity, in bucket order. Each processor's rows
    add up exactly to its open amount summed in minor units per currency and converted once."""
    groups: dict[tuple[str, str, str], dict] = {}
    for processor, business_date, minor, currency, amount in open_findings:
        age = age_days(business_date, as_of)
        key = (processor, age_bucket(age), policy.severity(amount, age).value)
        group = groups.setdefault(key, {"open_count": 0, "minor": {}})
        group["open_count"] += 1
        group["minor"][currency] = group["minor"].get(currency, 0) + int(minor or 0)
    order = {label: i for i, (label, _, _) in enumerate(AGE_BUCKETS)}
    rows = []
    for processor in sorted({key[0] for key in groups}):
        keys = sorted((k for k in groups if k[0] == processor), key=lambda k: (order[k[1]], k[2]))
        for key, amount in zip(keys, rates.shares([groups[k]["minor"] for k in keys]), strict=True):
            rows.append(dict(zip(AGING_COLUMNS, (*key, groups[key]["open_count"], amount), strict=True)))
    return rows

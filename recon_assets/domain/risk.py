"""Risk level of a reconciled day from its missing count and amount at risk."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class RiskThresholds:
    """A level applies from ``*_missing`` missing transactions or ``*_amount`` at risk (reporting currency)."""

    critical_missing: int = 50
    critical_amount: Decimal = Decimal("50000")
    high_missing: int = 20
    high_amount: Decimal = Decimal("10000")
    medium_missing: int = 5
    medium_amount: Decimal = Decimal("1000")

    def level(self, missing_count: int, amount_at_risk: Decimal) -> RiskLevel:
        amount = Decimal(amount_at_risk)
        for level, missing, limit in (
            (RiskLevel.CRITICAL, self.critical_missing, self.critical_amount),
            (RiskLevel.HIGH, self.high_missing, self.high_amount),
            (RiskLevel.MEDIUM, self.medium_missing, self.medium_amount),
        ):
            if missing_count >= missing or amount >= Decimal(limit):
                return level
        return RiskLevel.LOW

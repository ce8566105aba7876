from decimal import Decimal

import pytest

from recon_assets.domain.risk import RiskLevel, RiskThresholds


@pytest.mark.parametrize(
    ("missing", "amount", "level"),
    [
        (0, "0", RiskLevel.LOW), (4, "999.99", RiskLevel.LOW), (5, "0", RiskLevel.MEDIUM),
        (0, "1000", RiskLevel.MEDIUM), (20, "0", RiskLevel.HIGH), (0, "10000", RiskLevel.HIGH),
        (50, "0", RiskLevel.CRITICAL), (0, "50000", RiskLevel.CRITICAL), (19, "49999.99", RiskLevel.HIGH),
    ],
)  # fmt: skip
def test_default_thresholds(missing, amount, level):
    assert RiskThresholds().level(missing, Decimal(amount)) == level


def test_thresholds_are_configuration():
    assert RiskThresholds(medium_missing=2).level(2, Decimal(0)) == RiskLevel.MEDIUM

from decimal import Decimal

import pytest

from recon_assets.domain.casework import ExceptionPolicy, Severity, age_bucket

POLICY = ExceptionPolicy()


@pytest.mark.parametrize(
    ("amount", "age", "expected"),
    [
        ("100000", 0, Severity.CRITICAL), ("5", 5, Severity.CRITICAL), ("99999.99", 4, Severity.HIGH),
        ("10000", 0, Severity.HIGH), ("1", 3, Severity.HIGH), ("1000", 0, Severity.MEDIUM),
        ("1", 1, Severity.MEDIUM), ("999.99", 0, Severity.LOW),
    ],
)  # fmt: skip
def test_severity_is_the_worse_of_amount_and_age(amount, age, expected):
    assert POLICY.severity(Decimal(amount), age) == expected


def test_sla_by_severity():
    assert [POLICY.sla_days(s) for s in Severity] == [1, 3, 5, 7]
    assert not POLICY.breaches_sla(Decimal("10"), 0)  # low, 0 of 7 days
    assert POLICY.breaches_sla(Decimal("200000"), 2)  # critical, SLA 1 day
    assert not POLICY.breaches_sla(Decimal("20000"), 3)  # high, exactly 3 days: not yet past
    assert POLICY.breaches_sla(Decimal("1"), 8)  # critical by age (>= 5 days), past its 1-day SLA


@pytest.mark.parametrize(("age", "bucket"), [(0, "0-1"), (1, "0-1"), (2, "2-7"), (7, "2-7"), (8, "8-30"),
                                             (30, "8-30"), (31, "30+"), (400, "30+")])  # fmt: skip
def test_age_buckets(age, bucket):
    assert age_bucket(age) == bucket

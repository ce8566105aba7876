from decimal import Decimal

import pytest

from recon_assets.domain.money import FxRates, MoneyError, exponent, format_major, to_major, to_minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("12.50", "USD", 1250), ("1500", "JPY", 1500), ("1.250", "KWD", 1250), ("-0.01", "EUR", -1), ("7", "USD", 700)],
)
def test_to_minor_uses_iso_exponents(value, currency, minor):
    assert to_minor(value, currency) == minor
    assert to_major(minor, currency) == Decimal(value)


def test_exponents_follow_iso_4217():
    assert (exponent("JPY"), exponent("USD"), exponent("KWD"), exponent("CLF")) == (0, 2, 3, 4)


@pytest.mark.parametrize(("value", "currency"), [("12.5", "JPY"), ("1.2345", "KWD"), ("abc", "USD"), ("1", "XYZ")])
def test_inexact_or_unknown_amounts_are_refused(value, currency):
    with pytest.raises(MoneyError):
        to_minor(value, currency)


def test_format_major_writes_the_currency_decimals():
    assert [format_major(1250, "KWD"), format_major(-5, "USD"), format_major(1500, "JPY")] == ["1.250", "-0.05", "1500"]


def test_fx_rounds_half_even_once_at_the_end():
    rates = FxRates({"EUR": "1.005"})
    # 1.00 EUR -> 1.005 USD -> 1.00 (half-even); three of them summed exactly -> 3.015 -> 3.02
    assert rates.convert(100, "EUR") == Decimal("1.00")
    assert rates.total({"EUR": 300}) == Decimal("3.02")
    with pytest.raises(MoneyError):
        rates.convert(1, "GBP")

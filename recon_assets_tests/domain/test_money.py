from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


RATES = FxRates({"USD": "1", "EUR": "1.0837", "JPY": "0.0067", "KWD": "3.2514", "GBP": "1.2701"})
PARTS = st.lists(
    st.dictionaries(st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"]), st.integers(0, 10**11), max_size=5),
    min_size=1, max_size=12,
)  # fmt: skip


@given(PARTS)
def test_shares_add_up_exactly_to_the_total_converted_once(parts):
    shares = RATES.shares(parts)
    whole: dict[str, int] = {}
    for part in parts:
        for currency, minor in part.items():
            whole[currency] = whole.get(currency, 0) + minor
    assert sum(shares, Decimal(0)) == RATES.total(whole)
    for share, part in zip(shares, parts, strict=True):  # each within a cent of its own exact value
        assert abs(share - sum((RATES.convert_exact(v, c) for c, v in part.items()), Decimal(0))) < Decimal("0.01")


@given(st.lists(st.tuples(st.sampled_from(["stripe", "paypal"]), st.integers(0, 40), st.integers(0, 10**9),
                          st.sampled_from(["USD", "EUR", "JPY"])), max_size=40))  # fmt: skip
def test_the_backlog_s_rows_add_up_to_each_processor_s_open_amount(findings):
    from datetime import date, timedelta

    from recon_assets.domain.casework import ExceptionPolicy, aging_table

    as_of = date(2026, 11, 30)
    rows = [(p, as_of - timedelta(days=age), minor, currency, RATES.convert(minor, currency))
            for p, age, minor, currency in findings]  # fmt: skip
    table = aging_table(rows, ExceptionPolicy(), as_of, RATES)
    assert sum(r["open_count"] for r in table) == len(rows)
    for processor in {p for p, *_ in findings}:
        whole: dict[str, int] = {}
        for p, _, minor, currency in findings:
            if p == processor:
                whole[currency] = whole.get(currency, 0) + minor
        assert sum((r["amount_at_risk"] for r in table if r["processor_name"] == processor), Decimal(0)) == (
            RATES.total(whole)
        )

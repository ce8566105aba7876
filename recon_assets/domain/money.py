"""Exact money: integer minor units with ISO 4217 exponents, and conversion to a reporting currency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

from iso4217 import Currency

# ISO 4217 minor-unit exponents of every currency a payment can be made in, from the ``iso4217`` package,
# which follows the official list (funds, metals and the like have no exponent and are left out).
CURRENCY_EXPONENTS: Mapping[str, int] = {c.code: c.exponent for c in Currency if c.exponent is not None}


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def is_known_currency(currency: str) -> bool:
    return currency in CURRENCY_EXPONENTS


def exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent of ``currency`` (upper-case code)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown ISO 4217 currency {currency!r}") from None


def to_minor(value: str | Decimal | int, currency: str) -> int:
    """Convert a major-unit decimal (``"12.50"`` USD, ``"1500"`` JPY) to integer minor units, exactly."""
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise MoneyError(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} has more decimals than {currency} allows ({exponent(currency)})")
    return int(scaled)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units to an exact major-unit ``Decimal``."""
    return Decimal(int(amount_minor)).scaleb(-exponent(currency))


def format_major(amount_minor: int, currency: str) -> str:
    """Minor units as the plain decimal string the APIs use (``-12.50``, ``1500``, ``1.250``): integer
    arithmetic only (a report formats a million of them)."""
    exp = exponent(currency)
    amount = int(amount_minor)
    if not exp:
        return str(amount)
    whole, fraction = divmod(abs(amount), 10**exp)
    return f"{'-' if amount < 0 else ''}{whole}.{fraction:0{exp}d}"


def display(amount: Decimal | int | str, currency: str, *, minor: bool = False) -> str:
    """For people: ``28,603.02 USD``, ``1,500,000 JPY``, ``-1.250 KWD``: the currency's own decimals,
    thousands separated, the code beside it. ``minor``: ``amount`` is in minor units."""
    major = to_major(int(amount), currency) if minor else Decimal(amount)
    places = exponent(currency)
    return f"{major.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):,.{places}f} {currency}"


class FxRates:
    """Rates to one reporting currency: ``rates[c]`` is the reporting-currency value of one unit of ``c``."""

    def __init__(self, rates: Mapping[str, Decimal | str], reporting_currency: str = "USD"):
        self.reporting_currency = reporting_currency
        self.rates = {code.upper(): Decimal(str(rate)) for code, rate in rates.items()}
        self.rates[reporting_currency] = Decimal(1)

    def rate(self, currency: str) -> Decimal:
        try:
            return self.rates[currency]
        except KeyError:
            raise MoneyError(f"no exchange rate from {currency} to {self.reporting_currency}") from None

    def convert_exact(self, amount_minor: int, currency: str) -> Decimal:
        """Unrounded value in the reporting currency."""
        return to_major(amount_minor, currency) * self.rate(currency)

    def minor_bounds(self, amount: Decimal) -> dict[str, int]:
        """For each currency with a rate: the most minor units worth no more than ``amount`` (reporting currency)."""
        return {
            currency: int((Decimal(amount) / rate).scaleb(exponent(currency)).to_integral_value(rounding=ROUND_FLOOR))
            for currency, rate in self.rates.items()
            if rate > 0
        }

    def round(self, value: Decimal) -> Decimal:
        """Round half-even to the reporting currency's minor unit; done once, at the end."""
        quantum = Decimal(1).scaleb(-exponent(self.reporting_currency))
        return value.quantize(quantum, rounding=ROUND_HALF_EVEN)

    def convert(self, amount_minor: int, currency: str) -> Decimal:
        return self.round(self.convert_exact(amount_minor, currency))

    def total(self, minor_by_currency: Mapping[str, int]) -> Decimal:
        """Sum of per-currency minor totals in the reporting currency, rounded once."""
        exact = sum((self.convert_exact(v, c) for c, v in minor_by_currency.items()), Decimal(0))
        return self.round(exact)

    def shares(self, parts: Sequence[Mapping[str, int]]) -> list[Decimal]:
        """Each part (minor units per currency) in the reporting currency, adding up exactly to ``total`` of
        them all: every part converted exactly, the whole rounded once, and the rounding shared out to the
        parts with the largest remainders (so a table's rows and its total never disagree by a cent)."""
        exact = [sum((self.convert_exact(v, c) for c, v in part.items()), Decimal(0)) for part in parts]
        quantum = Decimal(1).scaleb(-exponent(self.reporting_currency))
        floors = [(value / quantum).to_integral_value(rounding=ROUND_FLOOR) * quantum for value in exact]
        short = int((self.round(sum(exact, Decimal(0))) - sum(floors, Decimal(0))) / quantum)
        for i in sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)[:short]:
            floors[i] += quantum
        return floors


# Fixed rates the sandbox and the default configuration use (USD per unit).
SANDBOX_RATES_TO_USD = {
    "USD": "1", "EUR": "1.08", "GBP": "1.27", "CAD": "0.73", "AUD": "0.66",
    "JPY": "0.0067", "KWD": "3.25", "CHF": "1.13",
}  # fmt: skip

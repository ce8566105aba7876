"""Exact money: integer minor units with ISO 4217 exponents, and conversion to a reporting currency."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of active currencies that differ from 2.
_NON_TWO_DECIMAL = {
    # zero-decimal
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four-decimal
    "CLF": 4, "UYW": 4,
}  # fmt: skip

_TWO_DECIMAL = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BOV",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHE",
    "CHF",
    "CHW",
    "CNY",
    "COP",
    "COU",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MXV",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "USN",
    "UYU",
    "UZS",
    "VED",
    "VES",
    "WST",
    "XCD",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]

CURRENCY_EXPONENTS: Mapping[str, int] = {**{code: 2 for code in _TWO_DECIMAL}, **_NON_TWO_DECIMAL}


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
    """Minor units as the plain decimal string the APIs use (``-12.50``, ``1500``, ``1.250``)."""
    exp = exponent(currency)
    return f"{to_major(amount_minor, currency):.{exp}f}"


class FxRates:
    """Rates to one reporting currency: ``rates[c]`` is the reporting-currency value of one unit of ``c``."""

    def __init__(self, rates: Mapping[str, Decimal | str], reporting_currency: str = "USD"):
        self.reporting_currency = reporting_currency
        self.rates = {code.upper(): Decimal(str(rate)) for code, rate in rates.items()}
        self.rates[reporting_currency] = Decimal(1)

    def convert_exact(self, amount_minor: int, currency: str) -> Decimal:
        """Unrounded value in the reporting currency."""
        try:
            rate = self.rates[currency]
        except KeyError:
            raise MoneyError(f"no exchange rate from {currency} to {self.reporting_currency}") from None
        return to_major(amount_minor, currency) * rate

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


# Fixed rates the sandbox and the default configuration use (USD per unit).
SANDBOX_RATES_TO_USD = {
    "USD": "1", "EUR": "1.08", "GBP": "1.27", "CAD": "0.73", "AUD": "0.66",
    "JPY": "0.0067", "KWD": "3.25", "CHF": "1.13",
}  # fmt: skip

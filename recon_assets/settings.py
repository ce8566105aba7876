"""Every environment setting recon reads, checked whole when the definitions load: a bad one stops ``recon``,
``dagster`` and the UI alike before anything runs, with one line naming the variable and what it allows.

The resources still bind their fields to the variables (``dg.EnvVar``); this is the door they pass first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from recon_assets.domain.money import is_known_currency
from recon_assets.domain.rules import RuleError, rules_from_json
from recon_assets.domain.settlement import FeeScheduleError, fee_schedule_from_json
from recon_assets.processors.registry import PROCESSORS
from recon_assets.warehouse.urls import ConfigurationError


@dataclass(frozen=True)
class WholeNumber:
    """A whole-number setting and its bounds (inclusive)."""

    low: int
    high: int
    meaning: str

    def read(self, variable: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
        if value is None or not self.low <= value <= self.high:
            raise ConfigurationError(
                f"{variable}={raw!r}: {self.meaning}, a whole number from {self.low} to {self.high}"
            )
        return value


WHOLE_NUMBERS = {
    "RECON_PAYOUT_GRACE_BUSINESS_DAYS": WholeNumber(0, 30, "the business days a payout may take to reach the bank"),
    "RECON_FEE_TOLERANCE_MINOR": WholeNumber(0, 1_000_000, "how far a fee may be from the schedule, in minor units"),
    "RECON_SANDBOX_SEED": WholeNumber(0, 2**32 - 1, "the sandbox's seed"),
    "RECON_SANDBOX_DAILY_VOLUME": WholeNumber(1, 10_000_000, "the sandbox's payments per processor and day"),
}


def whole_number(variable: str, default: int) -> int:
    """The variable's value within its bounds, or ``default`` when unset."""
    raw = os.environ.get(variable, "")
    return WHOLE_NUMBERS[variable].read(variable, raw) if raw.strip() else default


def _json_object(variable: str, raw: str) -> dict:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{variable} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{variable} must be a JSON object, got {type(value).__name__}")
    return value


def _currencies(variable: str, value: Mapping, check: Callable[[object], bool], allowed: str) -> None:
    for currency, amount in value.items():
        if not (isinstance(currency, str) and currency == currency.upper() and is_known_currency(currency)):
            raise ConfigurationError(f"{variable}: {currency!r} is not an ISO 4217 currency code in upper case")
        if not check(amount):
            raise ConfigurationError(f"{variable}.{currency}={amount!r}: {allowed}")


def _positive_decimal(value: object) -> bool:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return False
    return number.is_finite() and number > 0


def _processors(variable: str, value: Mapping) -> None:
    unknown = sorted(set(value) - set(PROCESSORS))
    if unknown:
        raise ConfigurationError(f"{variable}: unknown processor {unknown[0]!r}; known: {', '.join(PROCESSORS)}")


def check_fee_schedule(raw: str) -> None:
    variable = "RECON_FEE_SCHEDULE_JSON"
    value = _json_object(variable, raw)
    _processors(variable, value)
    for processor, rates in value.items():
        if isinstance(rates, Mapping):
            _currencies(f"{variable}.{processor}", rates, lambda rate: isinstance(rate, Mapping), "a rate object")
    try:
        fee_schedule_from_json(value, variable)
    except FeeScheduleError as exc:
        raise ConfigurationError(str(exc)) from None


def check_matching_rules(raw: str) -> None:
    variable = "RECON_MATCHING_RULES_JSON"
    value = _json_object(variable, raw)
    _processors(variable, value)
    for processor, rules in value.items():
        if not isinstance(rules, dict):
            raise ConfigurationError(f"{variable}.{processor}: expected an object of rules")
        try:
            rules_from_json(rules, processor)
        except RuleError as exc:
            raise ConfigurationError(f"{variable}: {exc}") from None


JSON_SETTINGS: dict[str, Callable[[str], None]] = {
    "RECON_FX_RATES_JSON": lambda raw: _currencies(
        "RECON_FX_RATES_JSON", _json_object("RECON_FX_RATES_JSON", raw), _positive_decimal,
        "a rate must be a decimal above 0 (the reporting currency's value of one unit)",
    ),
    "RECON_TOLERANCE_MINOR_JSON": lambda raw: _currencies(
        "RECON_TOLERANCE_MINOR_JSON", _json_object("RECON_TOLERANCE_MINOR_JSON", raw),
        lambda n: isinstance(n, int) and not isinstance(n, bool) and n >= 0, "a tolerance is a whole number >= 0",
    ),
    "RECON_FEE_SCHEDULE_JSON": check_fee_schedule,
    "RECON_MATCHING_RULES_JSON": check_matching_rules,
}  # fmt: skip


def validate_settings() -> None:
    """Check every setting that is set; the first bad one raises ``ConfigurationError`` naming it."""
    for variable, bounds in WHOLE_NUMBERS.items():
        raw = os.environ.get(variable, "")
        if raw.strip():
            bounds.read(variable, raw)
    for variable, check in JSON_SETTINGS.items():
        raw = os.environ.get(variable, "")
        if raw.strip():
            check(raw)

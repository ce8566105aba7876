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
from recon_assets.processors.registry import LEDGER, PROCESSORS, SOURCES
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
    "RECON_DISPUTE_DUE_DAYS": WholeNumber(0, 365, "how many days ahead a dispute's response counts as due soon"),
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


SANDBOX, LIVE = "sandbox", "live"
MODES = (SANDBOX, LIVE)
BANK_STATEMENT_VARIABLES = ("BANK_STATEMENTS_BUCKET", "RECON_BANK_STATEMENTS_DIR")


def credential_variables() -> tuple[str, ...]:
    """Every source's credential variables (keys, tokens, client ids and secrets), in registry order."""
    return tuple(v for spec in SOURCES.values() for v in (spec.key_variable, spec.secret_variable) if v)


def recon_mode() -> str:
    """``RECON_MODE``: ``sandbox`` (every source generated, no credential read) or ``live`` (every source read
    for real). Unset, it is ``sandbox`` while no credential is set; with one set, recon refuses to guess."""
    raw = os.environ.get("RECON_MODE", "").strip()
    if raw:
        if raw not in MODES:
            raise ConfigurationError(f"RECON_MODE={raw!r}: sandbox or live")
        return raw
    given = [v for v in credential_variables() if os.environ.get(v)]
    if given:
        raise ConfigurationError(
            f"RECON_MODE is not set but {given[0]} is: set RECON_MODE=live to read the real services, or "
            "RECON_MODE=sandbox to use the sandbox and ignore the credentials"
        )
    return SANDBOX


def is_live() -> bool:
    return recon_mode() == LIVE


def missing_for_live(processors) -> list[str]:
    """The variables a live run of ``processors`` lacks: each one's credentials and the ledger's (with a base
    URL where there is no public default), where the bank statements arrive, and the FX rates."""
    missing = []
    for spec in [*(PROCESSORS[p] for p in processors), LEDGER]:
        missing += [v for v in (spec.key_variable, spec.secret_variable) if v and not os.environ.get(v)]
        if spec.default_base_url is None and not os.environ.get(spec.base_url_variable):
            missing.append(spec.base_url_variable)
    if not any(os.environ.get(v) for v in BANK_STATEMENT_VARIABLES):
        missing.append(" or ".join(BANK_STATEMENT_VARIABLES))
    if not os.environ.get("RECON_FX_RATES_JSON", "").strip():
        missing.append("RECON_FX_RATES_JSON")
    return missing


def check_live_run(processors) -> None:
    """In live mode, refuse a run of ``processors`` that lacks any source, naming every missing variable."""
    missing = missing_for_live(processors) if is_live() else []
    if missing:
        raise ConfigurationError(f"RECON_MODE=live and these are not set: {', '.join(missing)}")


def check_stripe_converts(raw: str) -> None:
    """``RECON_SANDBOX_STRIPE_CONVERTS``: ISO currencies, comma-separated, that the sandbox's Stripe account
    converts into USD (USD itself is not converted)."""
    variable = "RECON_SANDBOX_STRIPE_CONVERTS"
    for code in (c.strip() for c in raw.split(",") if c.strip()):
        if code != code.upper() or not is_known_currency(code) or code == "USD":
            raise ConfigurationError(
                f"{variable}={raw!r}: {code!r} is not a currency to convert into USD (ISO 4217 codes in upper "
                "case, comma-separated, USD excluded)"
            )


LIST_SETTINGS: dict[str, Callable[[str], None]] = {"RECON_SANDBOX_STRIPE_CONVERTS": check_stripe_converts}


def validate_settings() -> None:
    """Check every setting that is set; the first bad one raises ``ConfigurationError`` naming it."""
    recon_mode()
    for variable, bounds in WHOLE_NUMBERS.items():
        raw = os.environ.get(variable, "")
        if raw.strip():
            bounds.read(variable, raw)
    for variable, check in (JSON_SETTINGS | LIST_SETTINGS).items():
        raw = os.environ.get(variable, "")
        if raw.strip():
            check(raw)

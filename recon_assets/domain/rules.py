"""The matching rules a processor's records are reconciled by, in the order they apply.

1. ``manual``: links a person made (``recon match``), above every rule;
2. ``exact_reference``: the ledger entry names the processor record (``processor_reference``);
3. ``split_booking`` (1:N): several ledger lines name one processor record and sum to it;
4. ``split_tender`` (N:1): several processor records of one order sum to one ledger entry of that order;
5. suggestions: 2 to 4 unmatched records of one day and currency whose sum equals an unmatched entry,
   reported for a person to confirm, never matched by themselves.

Each rule has an amount tolerance per currency (absolute, in minor units, and a percentage of the processor
side's amount; a difference within either is accepted) and a date drift in days. The settlement window is
the day before and after, so a drift is 0 or 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np

MAX_DATE_DRIFT_DAYS = 1  # the settlement window: a day's records are read with the day before and after
RULE_NAMES = ("exact_reference", "split_booking", "split_tender")
SUGGESTION_SIZES = (2, 4)  # a suggested group has 2 to 4 processor records
# A day-and-currency with more unmatched records than this is not searched: among hundreds of leftovers a
# subset of the right sum turns up by chance, and a suggestion a person cannot trust is worse than none.
SUGGESTION_CANDIDATE_CAP = 24
_PPM = 1_000_000  # percentages held as parts per million: integer arithmetic on amounts


class RuleError(ValueError):
    """A matching rule that cannot be applied as written."""


@dataclass(frozen=True)
class Tolerance:
    """How far one rule lets the two sides differ."""

    absolute_minor: Mapping[str, int] = field(default_factory=dict)  # currency -> minor units
    percent: Mapping[str, Decimal] = field(default_factory=dict)  # currency -> percent of the processor amount
    date_drift_days: int = MAX_DATE_DRIFT_DAYS

    def __post_init__(self):
        if not 0 <= self.date_drift_days <= MAX_DATE_DRIFT_DAYS:
            raise RuleError(
                f"date_drift_days must be 0 or {MAX_DATE_DRIFT_DAYS} (the settlement window is the day before "
                f"and after), not {self.date_drift_days}"
            )
        for currency, minor in self.absolute_minor.items():
            if int(minor) < 0:
                raise RuleError(f"absolute tolerance for {currency} is negative: {minor}")
        for currency, pct in self.percent.items():
            if not Decimal(0) <= Decimal(pct) <= Decimal(100):
                raise RuleError(f"percent tolerance for {currency} must be within 0..100, not {pct}")

    def allows(self, difference: np.ndarray, base: np.ndarray, currencies: np.ndarray, names: list) -> np.ndarray:
        """True where ``|difference|`` is within tolerance of ``base`` (the processor side's amount) in the
        row's currency (``currencies``: codes into ``names``; a code past the end is no currency)."""
        absolute = np.zeros(len(names) + 2, dtype=np.int64)
        ppm = np.zeros(len(names) + 2, dtype=np.int64)
        for code, name in enumerate(names):
            absolute[code] = int(self.absolute_minor.get(name, 0))
            ppm[code] = int(Decimal(self.percent.get(name, 0)) * _PPM / 100)
        difference = np.abs(difference)
        allowed = difference <= absolute[currencies]
        if ppm.any():
            base = np.abs(base)  # floor(|base| * ppm / 10^6) without overflowing int64
            share = (base // _PPM) * ppm[currencies] + (base % _PPM) * ppm[currencies] // _PPM
            allowed |= difference <= share
        return allowed


@dataclass(frozen=True)
class MatchingRules:
    """One processor's rules, by name."""

    exact_reference: Tolerance = Tolerance()
    split_booking: Tolerance = Tolerance()
    split_tender: Tolerance = Tolerance()


def tolerance_from_json(value: Mapping, where: str) -> Tolerance:
    """A rule as written in configuration: ``{"absolute_minor": {"USD": 5}, "percent": {"USD": "0.5"},
    "date_drift_days": 1}`` (every key optional)."""
    unknown = set(value) - {"absolute_minor", "percent", "date_drift_days"}
    if unknown:
        raise RuleError(f"{where}: unknown setting(s) {sorted(unknown)}")
    try:
        return Tolerance(
            absolute_minor={c.upper(): int(v) for c, v in dict(value.get("absolute_minor", {})).items()},
            percent={c.upper(): Decimal(str(v)) for c, v in dict(value.get("percent", {})).items()},
            date_drift_days=int(value.get("date_drift_days", MAX_DATE_DRIFT_DAYS)),
        )
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise RuleError(f"{where}: {exc}") from None


def rules_from_json(value: Mapping, where: str, base_absolute: Mapping[str, int] | None = None) -> MatchingRules:
    """A processor's rules as written in configuration, ``{"split_tender": {...}, ...}``. ``base_absolute``
    (the global per-currency tolerance) applies to every rule that sets no absolute tolerance of its own."""
    unknown = set(value) - set(RULE_NAMES)
    if unknown:
        raise RuleError(f"{where}: unknown rule(s) {sorted(unknown)}; the rules are {', '.join(RULE_NAMES)}")
    rules = {}
    for name in RULE_NAMES:
        written = dict(value.get(name) or {})
        if not written.get("absolute_minor"):
            written["absolute_minor"] = dict(base_absolute or {})
        rules[name] = tolerance_from_json(written, f"{where}.{name}")
    return MatchingRules(**rules)


@dataclass(frozen=True)
class ManualLink:
    """Records a person matched by hand: processor records and ledger entries that explain each other."""

    link_id: int
    processor_txn_ids: tuple[str, ...]
    ledger_ids: tuple[str, ...]

"""The reconciliation engine: vectorised matching of processor records against ledger entries.

Frames in, frames out. Every processor record of the day gets exactly one outcome, by precedence
missing_in_ledger > currency_mismatch > amount_mismatch > status_mismatch > matched; a failed record
the ledger never booked moved no money and is ``not_booked_failed``, not a discrepancy. Ledger entries
of the day that no processor record of the window matches are ``missing_at_processor``; extra ledger
copies of one processor reference are ``duplicate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from recon_assets.domain.money import FxRates

MATCHED = "matched"
NOT_BOOKED_FAILED = "not_booked_failed"
MISSING_IN_LEDGER = "missing_in_ledger"
MISSING_AT_PROCESSOR = "missing_at_processor"
AMOUNT_MISMATCH = "amount_mismatch"
CURRENCY_MISMATCH = "currency_mismatch"
STATUS_MISMATCH = "status_mismatch"
DUPLICATE = "duplicate"

PROCESSOR_OUTCOMES = (
    MATCHED, NOT_BOOKED_FAILED, MISSING_IN_LEDGER, CURRENCY_MISMATCH, AMOUNT_MISMATCH, STATUS_MISMATCH,
)  # fmt: skip
DISCREPANCY_TYPES = (
    MISSING_IN_LEDGER, MISSING_AT_PROCESSOR, AMOUNT_MISMATCH, CURRENCY_MISMATCH, STATUS_MISMATCH, DUPLICATE,
)  # fmt: skip
MISSING_TYPES = (MISSING_IN_LEDGER, MISSING_AT_PROCESSOR)
# Each outcome as an integer code, for the vectorised engine: its position in PROCESSOR_OUTCOMES.
_CODE = {name: code for code, name in enumerate(PROCESSOR_OUTCOMES)}
# Outcomes of a processor record that are findings (all but matched and not_booked_failed).
_FINDING_CODES = np.array([_CODE[name] for name in PROCESSOR_OUTCOMES if name in DISCREPANCY_TYPES])

DISCREPANCY_COLUMNS = (
    "discrepancy_type", "processor_txn_id", "ledger_id", "related_ledger_id",
    "processor_amount_minor", "processor_currency", "processor_status",
    "ledger_amount_minor", "ledger_currency", "ledger_status",
    "at_risk_minor", "at_risk_currency",
)  # fmt: skip

# Statuses compared after normalisation: a refunded charge compares as succeeded (its refund is a
# record of its own); a canceled or rejected refund counts as failed.
_SUCCEEDED, _PENDING, _FAILED, _UNKNOWN = 0, 1, 2, 3
_STATUS_CODES = {
    "succeeded": _SUCCEEDED, "refunded": _SUCCEEDED, "completed": _SUCCEEDED,
    "pending": _PENDING,
    "failed": _FAILED, "canceled": _FAILED, "cancelled": _FAILED, "rejected": _FAILED,
}  # fmt: skip


@dataclass(frozen=True)
class ReconciliationResult:
    """Outcomes for the day's processor records and the day's discrepancies."""

    outcomes: pd.DataFrame  # processor_txn_id, outcome, ledger_id
    discrepancies: pd.DataFrame  # DISCREPANCY_COLUMNS (+ amount_at_risk once priced)

    def outcome_counts(self) -> dict[str, int]:
        counts = self.outcomes["outcome"].value_counts()
        return {name: int(counts.get(name, 0)) for name in PROCESSOR_OUTCOMES}

    def discrepancy_counts(self) -> dict[str, int]:
        counts = self.discrepancies["discrepancy_type"].value_counts()
        return {name: int(counts.get(name, 0)) for name in DISCREPANCY_TYPES}


def normalised_status_codes(statuses: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(statuses)  # a handful of distinct values: normalise those, not every row
    lookup = np.array([_STATUS_CODES.get(str(u).lower(), _UNKNOWN) for u in uniques] + [_UNKNOWN], dtype=np.int8)
    return lookup[codes]  # code -1 (missing) picks the trailing _UNKNOWN


def _day_numbers(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy(dtype="datetime64[D]").astype(np.int64)


def _timestamps(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, utc=True).to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _primary_ledger_rows(ref_codes: np.ndarray, ledger: pd.DataFrame, n_codes: int) -> np.ndarray:
    """True for the ledger row compared for each reference: earliest booked_at, then lowest ledger_id."""
    is_primary = np.ones(len(ref_codes), dtype=bool)
    repeated = np.bincount(ref_codes, minlength=n_codes)[ref_codes] > 1
    if repeated.any():
        rows = np.flatnonzero(repeated)
        group = pd.DataFrame(
            {
                "code": ref_codes[rows],
                "booked": _timestamps(ledger["booked_at"].iloc[rows]),
                "ledger_id": ledger["ledger_id"].to_numpy()[rows],
                "row": rows,
            }
        ).sort_values(["code", "booked", "ledger_id"], kind="stable")
        extra = group["code"].duplicated().to_numpy()
        is_primary[group["row"].to_numpy()[extra]] = False
    return is_primary


def reconcile(
    processor: pd.DataFrame,
    ledger: pd.DataFrame,
    day: date,
    tolerance_minor: Mapping[str, int] | None = None,
) -> ReconciliationResult:
    """Reconcile one processor's records of ``day`` against the ledger.

    Both frames may hold the neighbouring days too (the settlement window); only findings that belong
    to ``day`` are returned. ``tolerance_minor`` allows an absolute difference per currency.
    """
    day_number = np.datetime64(day, "D").astype(np.int64)
    processor = _within_window(processor, day_number)
    ledger = _within_window(ledger, day_number)
    n_p, n_l = len(processor), len(ledger)
    keys = np.concatenate(
        [processor["processor_txn_id"].to_numpy(dtype=object), ledger["processor_reference"].to_numpy(dtype=object)]
    )
    codes, uniques = pd.factorize(keys)
    p_code, l_code = codes[:n_p], codes[n_p:]
    n_codes = len(uniques)

    is_primary = _primary_ledger_rows(l_code, ledger, n_codes)
    ledger_row_of_code = np.full(n_codes + 1, -1, dtype=np.int64)
    primary_rows = np.flatnonzero(is_primary)
    ledger_row_of_code[l_code[primary_rows]] = primary_rows
    ledger_row = ledger_row_of_code[p_code]
    booked = ledger_row >= 0
    li = np.where(booked, ledger_row, 0)

    currencies = np.concatenate(
        [processor["currency"].to_numpy(dtype=object), ledger["currency"].to_numpy(dtype=object)]
    )
    cur_codes, cur_uniques = pd.factorize(currencies)
    p_cur, l_cur = cur_codes[:n_p], cur_codes[n_p:]
    p_amt = processor["amount_minor"].to_numpy(dtype=np.int64)
    l_amt = ledger["amount_minor"].to_numpy(dtype=np.int64)
    p_st = normalised_status_codes(processor["status"])
    l_st = normalised_status_codes(ledger["status"])

    tol_by_currency = np.zeros(len(cur_uniques) + 1, dtype=np.int64)
    for i, code in enumerate(cur_uniques):
        tol_by_currency[i] = int((tolerance_minor or {}).get(code, 0))

    if n_l:
        l_cur_p, l_amt_p, l_st_p = l_cur[li], l_amt[li], l_st[li]
    else:
        l_cur_p = np.full(n_p, -1)
        l_amt_p = np.zeros(n_p, dtype=np.int64)
        l_st_p = np.full(n_p, _UNKNOWN, dtype=np.int8)
    # by precedence: the first condition that holds decides the record's outcome
    outcome = np.select(
        [
            ~booked & (p_st == _FAILED),
            ~booked,
            p_cur != l_cur_p,
            np.abs(p_amt - l_amt_p) > tol_by_currency[p_cur],
            p_st != l_st_p,
        ],
        [_CODE[NOT_BOOKED_FAILED], _CODE[MISSING_IN_LEDGER], _CODE[CURRENCY_MISMATCH], _CODE[AMOUNT_MISMATCH],
         _CODE[STATUS_MISMATCH]],
        default=_CODE[MATCHED],
    )  # fmt: skip

    p_today = _day_numbers(processor["business_date"]) == day_number if n_p else np.zeros(0, bool)
    l_today = _day_numbers(ledger["business_date"]) == day_number if n_l else np.zeros(0, bool)

    matched_ledger = np.zeros(n_l, dtype=bool)
    matched_ledger[ledger_row[booked]] = True

    outcome_names = np.array(PROCESSOR_OUTCOMES, dtype=object)
    ledger_ids = ledger["ledger_id"].to_numpy(dtype=object)
    outcomes = pd.DataFrame(
        {
            "processor_txn_id": processor["processor_txn_id"].to_numpy(dtype=object)[p_today],
            "outcome": outcome_names[outcome[p_today]],
            "ledger_id": np.where(booked, ledger_ids[li] if n_l else None, None)[p_today],
        }
    )

    parts = [
        _processor_side_findings(processor, ledger, p_today, outcome, li, booked),
        _ledger_only_findings(ledger, is_primary & ~matched_ledger & l_today, MISSING_AT_PROCESSOR, None),
        _ledger_only_findings(
            ledger, ~is_primary & l_today, DUPLICATE, ledger_ids[ledger_row_of_code[l_code]] if n_l else None
        ),
    ]
    discrepancies = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else _empty_discrepancies()
    )
    return ReconciliationResult(outcomes=outcomes, discrepancies=discrepancies)


def _within_window(frame: pd.DataFrame, day_number: int) -> pd.DataFrame:
    """Rows of day-1 .. day+1 only: a booking two days off is outside the settlement window."""
    if frame.empty:
        return frame
    offset = _day_numbers(frame["business_date"]) - day_number
    inside = np.abs(offset) <= 1
    return frame if inside.all() else frame.loc[inside].reset_index(drop=True)


def _empty_discrepancies() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in DISCREPANCY_COLUMNS})
    for name in ("processor_amount_minor", "ledger_amount_minor", "at_risk_minor"):
        frame[name] = frame[name].astype("Int64")
    return frame


def _processor_side_findings(processor, ledger, p_today, outcome, li, booked) -> pd.DataFrame:
    rows = np.flatnonzero(p_today & np.isin(outcome, _FINDING_CODES))
    if not len(rows):
        return _empty_discrepancies()
    kinds = np.array(PROCESSOR_OUTCOMES, dtype=object)[outcome[rows]]
    has_ledger = booked[rows]
    lrows = li[rows]
    p_amt = processor["amount_minor"].to_numpy(dtype=np.int64)[rows]
    p_cur = processor["currency"].to_numpy(dtype=object)[rows]

    def ledger_col(name, fill):
        if not len(ledger):
            return np.full(len(rows), fill, dtype=object)
        values = ledger[name].to_numpy(dtype=object)[lrows]
        return np.where(has_ledger, values, fill)

    l_amt = ledger_col("amount_minor", None)
    at_risk = np.abs(p_amt).astype(object)
    amount_rows = kinds == AMOUNT_MISMATCH
    at_risk[amount_rows] = np.abs(p_amt[amount_rows] - l_amt[amount_rows].astype(np.int64))
    return pd.DataFrame(
        {
            "discrepancy_type": kinds,
            "processor_txn_id": processor["processor_txn_id"].to_numpy(dtype=object)[rows],
            "ledger_id": ledger_col("ledger_id", None),
            "related_ledger_id": None,
            "processor_amount_minor": pd.array(p_amt, dtype="Int64"),
            "processor_currency": p_cur,
            "processor_status": processor["status"].to_numpy(dtype=object)[rows],
            "ledger_amount_minor": pd.array(l_amt, dtype="Int64"),
            "ledger_currency": ledger_col("currency", None),
            "ledger_status": ledger_col("status", None),
            "at_risk_minor": pd.array(at_risk.astype(np.int64), dtype="Int64"),
            "at_risk_currency": p_cur,
        }
    )


def _ledger_only_findings(ledger, mask, kind, related_ids) -> pd.DataFrame:
    rows = np.flatnonzero(mask)
    if not len(rows):
        return _empty_discrepancies()
    amounts = ledger["amount_minor"].to_numpy(dtype=np.int64)[rows]
    currencies = ledger["currency"].to_numpy(dtype=object)[rows]
    return pd.DataFrame(
        {
            "discrepancy_type": kind,
            "processor_txn_id": ledger["processor_reference"].to_numpy(dtype=object)[rows],
            "ledger_id": ledger["ledger_id"].to_numpy(dtype=object)[rows],
            "related_ledger_id": related_ids[rows] if related_ids is not None else None,
            "processor_amount_minor": pd.array([None] * len(rows), dtype="Int64"),
            "processor_currency": None,
            "processor_status": None,
            "ledger_amount_minor": pd.array(amounts, dtype="Int64"),
            "ledger_currency": currencies,
            "ledger_status": ledger["status"].to_numpy(dtype=object)[rows],
            "at_risk_minor": pd.array(np.abs(amounts), dtype="Int64"),
            "at_risk_currency": currencies,
        }
    )


def price_discrepancies(discrepancies: pd.DataFrame, rates: FxRates) -> pd.DataFrame:
    """Add ``amount_at_risk``: each finding's absolute amount in the reporting currency (Decimal)."""
    priced = discrepancies.copy()
    priced["amount_at_risk"] = [
        rates.convert(int(minor), currency)
        for minor, currency in zip(priced["at_risk_minor"], priced["at_risk_currency"], strict=True)
    ]
    return priced


def total_at_risk(discrepancies: pd.DataFrame, rates: FxRates) -> Decimal:
    """Amount at risk of all findings, summed per currency exactly and rounded once at the end."""
    if discrepancies.empty:
        return rates.round(Decimal(0))
    per_currency = discrepancies.groupby("at_risk_currency")["at_risk_minor"].sum()
    return rates.total({str(c): int(v) for c, v in per_currency.items()})

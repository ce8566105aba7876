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
import pyarrow as pa
import pyarrow.compute as pc

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

    outcomes: pa.Table  # processor_txn_id, outcome, ledger_id: one row per processor record of the day
    discrepancies: pd.DataFrame  # DISCREPANCY_COLUMNS (+ amount_at_risk once priced)

    def outcome_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PROCESSOR_OUTCOMES, 0)
        for entry in pc.value_counts(self.outcomes["outcome"]).to_pylist():
            counts[entry["values"]] = entry["counts"]
        return counts

    def discrepancy_counts(self) -> dict[str, int]:
        counts = self.discrepancies["discrepancy_type"].value_counts()
        return {name: int(counts.get(name, 0)) for name in DISCREPANCY_TYPES}


PROCESSOR_SCHEMA = pa.schema(
    [("processor_txn_id", pa.string()), ("business_date", pa.date32()), ("amount_minor", pa.int64()),
     ("currency", pa.string()), ("status", pa.string())]
)  # fmt: skip
LEDGER_SCHEMA = pa.schema(
    [("ledger_id", pa.string()), ("processor_reference", pa.string()), ("business_date", pa.date32()),
     ("amount_minor", pa.int64()), ("currency", pa.string()), ("status", pa.string()),
     ("booked_at", pa.timestamp("us", tz="UTC"))]
)  # fmt: skip
_EPOCH = date(1970, 1, 1)


def as_table(frame: pa.Table | pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame``'s columns the engine reads, as an Arrow table of ``schema``'s types."""
    if isinstance(frame, pa.Table):
        return frame.select(schema.names).cast(schema)
    return pa.Table.from_pandas(frame[list(schema.names)], schema=schema, preserve_index=False)


def records_of_day(processor: pa.Table | pd.DataFrame, day: date) -> int:
    """How many of the frame's processor records belong to ``day``."""
    return int(np.count_nonzero(_day_offsets(as_table(processor, PROCESSOR_SCHEMA), day) == 0))


def normalised_status_codes(statuses: pa.Array) -> np.ndarray:
    encoded = pc.dictionary_encode(statuses)  # a handful of distinct values: normalise those, not every row
    lookup = np.array(
        [_STATUS_CODES.get(str(u).lower(), _UNKNOWN) for u in encoded.dictionary.to_pylist()] + [_UNKNOWN],
        dtype=np.int8,
    )
    return lookup[encoded.indices.fill_null(-1).to_numpy()]  # code -1 (missing) picks the trailing _UNKNOWN


def _codes(*arrays: pa.Array) -> tuple[list[np.ndarray], list]:
    """One integer code per distinct value across ``arrays`` (a hash join's keys), and the values."""
    encoded = pc.dictionary_encode(pa.concat_arrays(arrays))
    missing = len(encoded.dictionary)  # a missing value gets the code after the last value's
    codes = encoded.indices.fill_null(missing).to_numpy().astype(np.int64)
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    return [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)], encoded.dictionary.to_pylist()


def _day_offsets(table: pa.Table, day: date) -> np.ndarray:
    """Each row's business date in days from ``day``."""
    days = table["business_date"].combine_chunks().view(pa.int32()).to_numpy(zero_copy_only=False)
    return days.astype(np.int64) - (day - _EPOCH).days


def _column(table: pa.Table, name: str) -> pa.Array:
    return table[name].combine_chunks()


def _values(table: pa.Table, name: str, rows: np.ndarray) -> np.ndarray:
    """``rows`` of one column as a NumPy array (objects for text; few rows: the findings)."""
    return _column(table, name).take(pa.array(rows, type=pa.int64())).to_numpy(zero_copy_only=False)


def _primary_ledger_rows(ref_codes: np.ndarray, ledger: pa.Table, n_codes: int) -> np.ndarray:
    """True for the ledger row compared for each reference: earliest booked_at, then lowest ledger_id."""
    is_primary = np.ones(len(ref_codes), dtype=bool)
    repeated = np.bincount(ref_codes, minlength=n_codes)[ref_codes] > 1
    if repeated.any():
        rows = np.flatnonzero(repeated)
        group = pd.DataFrame(
            {
                "code": ref_codes[rows],
                "booked": _column(ledger, "booked_at").cast(pa.int64()).to_numpy()[rows],
                "ledger_id": _values(ledger, "ledger_id", rows),
                "row": rows,
            }
        ).sort_values(["code", "booked", "ledger_id"], kind="stable")
        extra = group["code"].duplicated().to_numpy()
        is_primary[group["row"].to_numpy()[extra]] = False
    return is_primary


def reconcile(
    processor: pa.Table | pd.DataFrame,
    ledger: pa.Table | pd.DataFrame,
    day: date,
    tolerance_minor: Mapping[str, int] | None = None,
) -> ReconciliationResult:
    """Reconcile one processor's records of ``day`` against the ledger.

    Both frames may hold the neighbouring days too (the settlement window); only findings that belong
    to ``day`` are returned. ``tolerance_minor`` allows an absolute difference per currency. Text stays
    in Arrow (hashed and gathered there); the comparisons are NumPy over integer codes.
    """
    processor = _within_window(as_table(processor, PROCESSOR_SCHEMA), day)
    ledger = _within_window(as_table(ledger, LEDGER_SCHEMA), day)
    n_p, n_l = processor.num_rows, ledger.num_rows
    (p_code, l_code), keys = _codes(_column(processor, "processor_txn_id"), _column(ledger, "processor_reference"))
    n_codes = len(keys) + 1  # + 1: the code of a missing reference

    is_primary = _primary_ledger_rows(l_code, ledger, n_codes)
    ledger_row_of_code = np.full(n_codes, -1, dtype=np.int64)
    primary_rows = np.flatnonzero(is_primary)
    ledger_row_of_code[l_code[primary_rows]] = primary_rows
    ledger_row = ledger_row_of_code[p_code]
    booked = ledger_row >= 0
    li = np.where(booked, ledger_row, 0)

    (p_cur, l_cur), currencies = _codes(_column(processor, "currency"), _column(ledger, "currency"))
    p_amt = _column(processor, "amount_minor").to_numpy()
    l_amt = _column(ledger, "amount_minor").to_numpy()
    p_st = normalised_status_codes(_column(processor, "status"))
    l_st = normalised_status_codes(_column(ledger, "status"))

    tol_by_currency = np.zeros(len(currencies) + 1, dtype=np.int64)
    for i, code in enumerate(currencies):
        tol_by_currency[i] = int((tolerance_minor or {}).get(code, 0))

    if n_l:
        l_cur_p, l_amt_p, l_st_p = l_cur[li], l_amt[li], l_st[li]
    else:
        l_cur_p = np.full(n_p, len(currencies) + 1)
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
    ).astype(np.int8)  # fmt: skip

    p_today = _day_offsets(processor, day) == 0
    l_today = _day_offsets(ledger, day) == 0
    matched_ledger = np.zeros(n_l, dtype=bool)
    matched_ledger[ledger_row[booked]] = True

    today = np.flatnonzero(p_today)
    ledger_of_today = pa.array(li[today], mask=~booked[today], type=pa.int64())
    outcomes = pa.table(
        {
            "processor_txn_id": _column(processor, "processor_txn_id").take(pa.array(today, type=pa.int64())),
            "outcome": pa.DictionaryArray.from_arrays(pa.array(outcome[today]), pa.array(PROCESSOR_OUTCOMES)),
            "ledger_id": _column(ledger, "ledger_id").take(ledger_of_today)
            if n_l
            else pa.nulls(len(today), pa.string()),
        }
    )

    parts = [
        _processor_side_findings(processor, ledger, p_today, outcome, li, booked),
        _ledger_only_findings(ledger, is_primary & ~matched_ledger & l_today, MISSING_AT_PROCESSOR, None),
        _ledger_only_findings(ledger, ~is_primary & l_today, DUPLICATE, ledger_row_of_code[l_code]),
    ]
    discrepancies = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else _empty_discrepancies()
    )
    return ReconciliationResult(outcomes=outcomes, discrepancies=discrepancies)


def _within_window(table: pa.Table, day: date) -> pa.Table:
    """Rows of day-1 .. day+1 only: a booking two days off is outside the settlement window."""
    inside = np.abs(_day_offsets(table, day)) <= 1
    return table if inside.all() else table.filter(pa.array(inside))


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
    p_amt = _values(processor, "amount_minor", rows).astype(np.int64)
    p_cur = _values(processor, "currency", rows)

    def ledger_col(name):
        if not ledger.num_rows:
            return np.full(len(rows), None, dtype=object)
        return np.where(has_ledger, _values(ledger, name, lrows).astype(object), None)

    l_amt = ledger_col("amount_minor")
    at_risk = np.abs(p_amt)
    amount_rows = kinds == AMOUNT_MISMATCH
    at_risk[amount_rows] = np.abs(p_amt[amount_rows] - l_amt[amount_rows].astype(np.int64))
    return pd.DataFrame(
        {
            "discrepancy_type": kinds,
            "processor_txn_id": _values(processor, "processor_txn_id", rows),
            "ledger_id": ledger_col("ledger_id"),
            "related_ledger_id": None,
            "processor_amount_minor": pd.array(p_amt, dtype="Int64"),
            "processor_currency": p_cur,
            "processor_status": _values(processor, "status", rows),
            "ledger_amount_minor": pd.array(l_amt, dtype="Int64"),
            "ledger_currency": ledger_col("currency"),
            "ledger_status": ledger_col("status"),
            "at_risk_minor": pd.array(at_risk, dtype="Int64"),
            "at_risk_currency": p_cur,
        }
    )


def _ledger_only_findings(ledger, mask, kind, primary_row_of_each) -> pd.DataFrame:
    rows = np.flatnonzero(mask)
    if not len(rows):
        return _empty_discrepancies()
    amounts = _values(ledger, "amount_minor", rows).astype(np.int64)
    currencies = _values(ledger, "currency", rows)
    return pd.DataFrame(
        {
            "discrepancy_type": kind,
            "processor_txn_id": _values(ledger, "processor_reference", rows),
            "ledger_id": _values(ledger, "ledger_id", rows),
            "related_ledger_id": (
                _values(ledger, "ledger_id", primary_row_of_each[rows]) if primary_row_of_each is not None else None
            ),
            "processor_amount_minor": pd.array([None] * len(rows), dtype="Int64"),
            "processor_currency": None,
            "processor_status": None,
            "ledger_amount_minor": pd.array(amounts, dtype="Int64"),
            "ledger_currency": currencies,
            "ledger_status": _values(ledger, "status", rows),
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

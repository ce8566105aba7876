"""The reconciliation engine: vectorised matching of processor records against ledger entries.

Frames in, frames out. The rules apply in order (``recon_assets.domain.rules``): manual links, the exact
reference, split bookings (1:N), split tenders (N:1), then suggestions. Every processor record of the day
gets exactly one outcome; by precedence missing in ledger > currency mismatch > amount mismatch >
status mismatch > matched, a group's amount decided on the group's sum. A failed record the ledger never
booked moved no money and is ``not_booked_failed``, not a discrepancy. Ledger entries of the day no rule
explains are missing at the processor; extra identical copies of one booking are duplicates. A payment is
matched on its reference; a dispute's movement on its reference and kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from recon_assets.domain.findings import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    DUPLICATE,
    GROUP_AMOUNT_MISMATCH,
    MISSING_AT_PROCESSOR,
    MISSING_IN_LEDGER,
    STATUS_MISMATCH,
    SUGGESTED_MATCH,
    Role,
    Side,
    finding_columns,
    names,
)
from recon_assets.domain.money import FxRates
from recon_assets.domain.records import PAYMENT_KINDS, UTC_TIME, Kind
from recon_assets.domain.rules import MAX_DATE_DRIFT_DAYS, SUGGESTION_SIZES, ManualLink, MatchingRules
from recon_assets.domain.suggestions import suggest_groups

MATCHED = "matched"
MATCHED_GROUP = "matched_group"  # a member of a split booking or split tender whose sum matched
MANUAL_MATCH = "manual_match"  # linked by a person
NOT_BOOKED_FAILED = "not_booked_failed"

PROCESSOR_OUTCOMES = (
    MATCHED, MATCHED_GROUP, MANUAL_MATCH, NOT_BOOKED_FAILED, MISSING_IN_LEDGER, CURRENCY_MISMATCH,
    AMOUNT_MISMATCH, GROUP_AMOUNT_MISMATCH, STATUS_MISMATCH,
)  # fmt: skip
MATCHED_OUTCOMES = (MATCHED, MATCHED_GROUP, MANUAL_MATCH)
# Each outcome as an integer code, for the vectorised engine: its position in PROCESSOR_OUTCOMES.
_CODE = {name: code for code, name in enumerate(PROCESSOR_OUTCOMES)}
# Outcomes of a processor record that are findings of the record itself (a split tender's mismatch is one
# finding of the group, made on the ledger side).
_FINDING_CODES = np.array([_CODE[name] for name in PROCESSOR_OUTCOMES if name in names(Side.TRANSACTION)])

# A finding of the engine: the transaction side's part of a finding row, before it is priced
DISCREPANCY_COLUMNS = tuple(c.name for c in finding_columns(Role.KEY, Role.FACT, side=Side.TRANSACTION))

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

    outcomes: pa.Table  # processor_txn_id, kind, outcome, ledger_id: one row per processor record of the day
    discrepancies: pd.DataFrame  # DISCREPANCY_COLUMNS (+ amount_at_risk once priced)

    def outcome_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PROCESSOR_OUTCOMES, 0)
        for entry in pc.value_counts(self.outcomes["outcome"]).to_pylist():
            counts[entry["values"]] = entry["counts"]
        return counts

    def discrepancy_counts(self) -> dict[str, int]:
        counts = self.discrepancies["discrepancy_type"].value_counts()
        return {name: int(counts.get(name, 0)) for name in names(Side.TRANSACTION)}


PROCESSOR_SCHEMA = pa.schema(
    [("processor_txn_id", pa.string()), ("kind", pa.string()), ("business_date", pa.date32()),
     ("amount_minor", pa.int64()), ("currency", pa.string()), ("status", pa.string()),
     ("order_reference", pa.string())]
)  # fmt: skip
LEDGER_SCHEMA = pa.schema(
    [("ledger_id", pa.string()), ("processor_reference", pa.string()), ("kind", pa.string()),
     ("business_date", pa.date32()), ("amount_minor", pa.int64()), ("currency", pa.string()),
     ("status", pa.string()), ("booked_at", UTC_TIME), ("order_reference", pa.string())]
)  # fmt: skip
# Columns a frame may leave out, and what they are read as: a source without orders names none; a frame of
# payments alone may leave out their kind
OPTIONAL_COLUMNS = {"order_reference": None, "kind": Kind.CHARGE.value}
_EPOCH = date(1970, 1, 1)


def as_table(frame: pa.Table | pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame``'s columns the engine reads, as an Arrow table of ``schema``'s types."""
    if isinstance(frame, pd.DataFrame):
        frame = frame.assign(**{n: v for n, v in OPTIONAL_COLUMNS.items() if n in schema.names and n not in frame})
        return pa.Table.from_pandas(frame[list(schema.names)], schema=schema, preserve_index=False)
    for name, value in OPTIONAL_COLUMNS.items():
        if name in schema.names and name not in frame.column_names:
            frame = frame.append_column(name, pa.repeat(pa.scalar(value, pa.string()), frame.num_rows))
    return frame.select(schema.names).cast(schema)


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
    """One integer code per distinct value across ``arrays`` (a hash join's keys), and the values. A missing
    value gets the code ``len(values)``."""
    encoded = pc.dictionary_encode(pa.concat_arrays(arrays))
    missing = len(encoded.dictionary)
    codes = encoded.indices.fill_null(missing).to_numpy().astype(np.int64)
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    return [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)], encoded.dictionary.to_pylist()


# From this many keys on, ids are hashed by Polars (64-bit, vectorised) and factorised as integers, about five
# times faster than Arrow's dictionary encoding of the strings; every key is then checked against the first
# key of its code, so a hash collision can never join two different ids (the exact encoding is used instead).
_HASHED_KEYS_FROM = 50_000
_CHECKED_PER_SLICE = 500_000


def _key_codes(*arrays: pa.Array) -> tuple[list[np.ndarray], int]:
    """Like ``_codes`` for join keys (ids), where only equality matters: the codes and how many there are
    (the last, ``n - 1``, is a missing key's). The arrays are hashed and checked one slice at a time, never
    gathered into one copy."""
    if sum(len(a) for a in arrays) < _HASHED_KEYS_FROM:
        codes, values = _codes(*arrays)
        return codes, len(values) + 1
    hashes = np.concatenate([pl.from_arrow(a).hash().to_numpy() for a in arrays])
    valid = np.concatenate([a.is_valid().to_numpy(zero_copy_only=False) for a in arrays])
    present, uniques = pd.factorize(hashes[valid])
    del hashes
    missing = len(uniques)
    codes = np.full(len(valid), missing, dtype=np.int64)
    codes[valid] = present
    first = np.empty(missing + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the first row of each code
    keys = pa.chunked_array(arrays)
    for start in range(0, len(codes), _CHECKED_PER_SLICE):
        rows = keys.slice(start, _CHECKED_PER_SLICE)
        representative = keys.take(pa.array(first[codes[start : start + len(rows)]]))
        if not pc.all(pc.or_kleene(pc.equal(rows, representative), pc.invert(pc.is_valid(rows)))).as_py():
            codes_exact, values = _codes(*arrays)  # a collision: two different ids with one hash
            return codes_exact, len(values) + 1
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    return [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)], missing + 1


def _day_offsets(table: pa.Table, day: date) -> np.ndarray:
    """Each row's business date in days from ``day``."""
    days = table["business_date"].combine_chunks().view(pa.int32()).to_numpy(zero_copy_only=False)
    return days.astype(np.int64) - (day - _EPOCH).days


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table[name]
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _values(table: pa.Table, name: str, rows: np.ndarray) -> np.ndarray:
    """``rows`` of one column as a NumPy array (objects for text; few rows: the findings)."""
    return _column(table, name).take(pa.array(rows, type=pa.int64())).to_numpy(zero_copy_only=False)


def _earliest_first(ledger: pa.Table, rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``rows`` ordered by key, then booked_at, then ledger_id: the first of each key is the one compared."""
    order = pc.sort_indices(
        pa.table({"key": keys, "booked": _column(ledger, "booked_at").take(pa.array(rows, type=pa.int64())),
                  "ledger_id": _column(ledger, "ledger_id").take(pa.array(rows, type=pa.int64()))}),
        sort_keys=[("key", "ascending"), ("booked", "ascending"), ("ledger_id", "ascending")],
    ).to_numpy()  # fmt: skip
    return rows[order]


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(sorted_keys) else sorted_keys


@dataclass
class _Sides:
    """Both sides of the window, their amounts, currency codes, days and statuses as NumPy arrays."""

    processor: pa.Table
    ledger: pa.Table
    p_day: np.ndarray
    l_day: np.ndarray
    p_amt: np.ndarray
    l_amt: np.ndarray
    p_cur: np.ndarray
    l_cur: np.ndarray
    currencies: list
    p_st: np.ndarray
    l_st: np.ndarray


def reconcile(
    processor: pa.Table | pd.DataFrame,
    ledger: pa.Table | pd.DataFrame,
    day: date,
    rules: MatchingRules | None = None,
    links: Sequence[ManualLink] = (),
) -> ReconciliationResult:
    """Reconcile one processor's records of ``day`` against the ledger.

    Both frames may hold the neighbouring days too (the settlement window); only findings that belong
    to ``day`` are returned. Text stays in Arrow (hashed and gathered there); the comparisons are NumPy
    over integer codes.
    """
    rules = rules or MatchingRules()
    processor = _within_window(as_table(processor, PROCESSOR_SCHEMA), day)
    ledger = _within_window(as_table(ledger, LEDGER_SCHEMA), day)
    processor, ledger, linked_outcomes = _apply_links(processor, ledger, links, day)
    processor, ledger = processor.combine_chunks(), ledger.combine_chunks()  # each column gathered once
    (p_cur, l_cur), currencies = _codes(_column(processor, "currency"), _column(ledger, "currency"))
    s = _Sides(
        processor, ledger, _day_offsets(processor, day), _day_offsets(ledger, day),
        _column(processor, "amount_minor").to_numpy(), _column(ledger, "amount_minor").to_numpy(),
        p_cur, l_cur, currencies,
        normalised_status_codes(_column(processor, "status")), normalised_status_codes(_column(ledger, "status")),
    )  # fmt: skip
    n_p, n_l = processor.num_rows, ledger.num_rows

    # rule: exact reference (a ledger line naming a record further off than the drift names nothing)
    (p_code, l_code), n_codes = _key_codes(_match_key(processor, "processor_txn_id"),
                                           _match_key(ledger, "processor_reference"))  # fmt: skip
    p_row_of_code = np.full(n_codes, -1, dtype=np.int64)
    p_row_of_code[p_code] = np.arange(n_p)
    drift = rules.exact_reference.date_drift_days
    if drift < MAX_DATE_DRIFT_DAYS and n_l:
        named = p_row_of_code[l_code]
        too_far = (named >= 0) & (np.abs(s.l_day - s.p_day[np.maximum(named, 0)]) > drift)
        l_code = np.where(too_far, l_code + n_codes, l_code)
        p_row_of_code = np.r_[p_row_of_code, np.full(n_codes, -1, dtype=np.int64)]
        n_codes *= 2
    lines_per_code = np.bincount(l_code, minlength=n_codes)
    repeated = lines_per_code[l_code] > 1
    is_primary = np.ones(n_l, dtype=bool)
    if repeated.any():
        rows = np.flatnonzero(repeated)
        ordered = _earliest_first(ledger, rows, l_code[rows])
        is_primary[ordered[np.r_[False, l_code[ordered][1:] == l_code[ordered][:-1]]]] = False
    ledger_row_of_code = np.full(n_codes, -1, dtype=np.int64)
    primary_rows = np.flatnonzero(is_primary)
    ledger_row_of_code[l_code[primary_rows]] = primary_rows
    ledger_row = ledger_row_of_code[p_code]
    booked = ledger_row >= 0
    li = np.where(booked, ledger_row, 0)

    # rule: split booking (several lines naming one record, not identical copies, or summing to it)
    split = _split_bookings(s, rules, l_code, repeated, p_row_of_code, n_p)

    if n_l:
        l_cur_p, l_amt_p, l_st_p = s.l_cur[li], s.l_amt[li], s.l_st[li]
    else:
        l_cur_p = np.full(n_p, len(currencies) + 1)
        l_amt_p = np.zeros(n_p, dtype=np.int64)
        l_st_p = np.full(n_p, _UNKNOWN, dtype=np.int8)
    amount_ok = rules.exact_reference.allows(s.p_amt - l_amt_p, s.p_amt, s.p_cur, currencies)
    if split.records.any():
        group_ok = rules.split_booking.allows(s.p_amt - split.sum_p, s.p_amt, s.p_cur, currencies)
        amount_ok = np.where(split.records, group_ok, amount_ok)
    # by precedence: the first condition that holds decides the record's outcome
    outcome = np.select(
        [
            ~booked & (s.p_st == _FAILED),
            ~booked,
            (s.p_cur != l_cur_p) | (split.records & ~split.one_currency_p),
            ~amount_ok & split.records,
            ~amount_ok,
            s.p_st != l_st_p,
            split.records,
        ],
        [_CODE[NOT_BOOKED_FAILED], _CODE[MISSING_IN_LEDGER], _CODE[CURRENCY_MISMATCH], _CODE[GROUP_AMOUNT_MISMATCH],
         _CODE[AMOUNT_MISMATCH], _CODE[STATUS_MISMATCH], _CODE[MATCHED_GROUP]],
        default=_CODE[MATCHED],
    ).astype(np.int8)  # fmt: skip

    explained = split.lines.copy()  # ledger lines some rule accounts for
    explained[ledger_row[booked]] = True

    # rule: split tender (records of one order summing to the order's one ledger entry)
    tender = _split_tenders(s, rules, booked, is_primary & ~explained)
    if tender is not None:
        outcome[tender.members] = np.where(tender.member_ok, _CODE[MATCHED_GROUP], _CODE[GROUP_AMOUNT_MISMATCH])
        li[tender.members] = tender.member_anchor
        booked[tender.members] = True
        explained[tender.anchors] = True

    p_today, l_today = s.p_day == 0, s.l_day == 0
    today = np.flatnonzero(p_today)
    ledger_of_today = pa.array(li[today], mask=~booked[today], type=pa.int64())
    outcomes = pa.table(
        {
            "processor_txn_id": _column(processor, "processor_txn_id").take(pa.array(today, type=pa.int64())),
            "kind": _column(processor, "kind").take(pa.array(today, type=pa.int64())),
            "outcome": pa.DictionaryArray.from_arrays(pa.array(outcome[today]), pa.array(PROCESSOR_OUTCOMES)),
            "ledger_id": _column(ledger, "ledger_id").take(ledger_of_today)
            if n_l
            else pa.nulls(len(today), pa.string()),
        }
    )
    if linked_outcomes is not None:
        outcomes = pa.concat_tables([outcomes, linked_outcomes.cast(outcomes.schema)])

    own_finding = p_today & np.isin(outcome, _FINDING_CODES)
    if tender is not None:
        own_finding[tender.members] = False  # reported once, as the group's finding
    unexplained = is_primary & ~explained & l_today
    parts = [
        _processor_side_findings(s, np.flatnonzero(own_finding), outcome, li, booked, split),
        _ledger_only_findings(ledger, unexplained, MISSING_AT_PROCESSOR, None),
        _ledger_only_findings(ledger, ~is_primary & ~split.lines & l_today, DUPLICATE, ledger_row_of_code[l_code]),
    ]
    if tender is not None:
        parts.append(_tender_findings(s, tender, l_today))
    parts.append(_suggestion_findings(s, outcome, unexplained))
    parts = [p for p in parts if len(p)]
    discrepancies = pd.concat(parts, ignore_index=True) if parts else _empty_discrepancies()
    return ReconciliationResult(outcomes=outcomes, discrepancies=discrepancies)


def _within_window(table: pa.Table, day: date) -> pa.Table:
    """Rows of day-1 .. day+1 only: a booking two days off is outside the settlement window."""
    inside = np.abs(_day_offsets(table, day)) <= MAX_DATE_DRIFT_DAYS
    return table if inside.all() else table.filter(pa.array(inside))


def _apply_links(processor: pa.Table, ledger: pa.Table, links: Sequence[ManualLink], day: date):
    """Take out what a person linked: the linked records of the day are ``manual_match`` (with the link's
    first ledger entry), and no other rule sees them or the linked entries."""
    if not links:
        return processor, ledger, None
    first_entry = {txn: link.ledger_ids[0] if link.ledger_ids else None
                   for link in links for txn in link.processor_txn_ids}  # fmt: skip
    p_linked = pc.is_in(_column(processor, "processor_txn_id"), value_set=pa.array(list(first_entry), pa.string()))
    l_ids = pa.array([lid for link in links for lid in link.ledger_ids], pa.string())
    l_linked = pc.is_in(_column(ledger, "ledger_id"), value_set=l_ids)
    linked_today = processor.filter(pc.and_(p_linked, pa.array(_day_offsets(processor, day) == 0)))
    ids = linked_today["processor_txn_id"].to_pylist()
    outcomes = pa.table(
        {
            "processor_txn_id": pa.array(ids, pa.string()),
            "kind": linked_today["kind"],
            "outcome": pa.DictionaryArray.from_arrays(
                pa.array([_CODE[MANUAL_MATCH]] * len(ids), pa.int8()), pa.array(PROCESSOR_OUTCOMES)
            ),
            "ledger_id": pa.array([first_entry[i] for i in ids], pa.string()),
        }
    )
    return processor.filter(pc.invert(p_linked)), ledger.filter(pc.invert(l_linked)), outcomes


@dataclass
class _SplitBookings:
    records: np.ndarray  # per processor row: its ledger lines are a split booking
    sum_p: np.ndarray  # per processor row: the sum of its lines
    one_currency_p: np.ndarray  # per processor row: its lines share one currency
    lines: np.ndarray  # per ledger row: a line of a split booking
    members: dict[int, np.ndarray]  # processor row -> its ledger rows, for the groups whose sum is off


def _split_bookings(s: _Sides, rules: MatchingRules, l_code, repeated, p_row_of_code, n_p) -> _SplitBookings:
    result = _SplitBookings(
        np.zeros(n_p, dtype=bool), np.zeros(n_p, dtype=np.int64), np.ones(n_p, dtype=bool),
        np.zeros(len(l_code), dtype=bool), {},
    )  # fmt: skip
    rows = np.flatnonzero(repeated & (p_row_of_code[l_code] >= 0))
    if not len(rows):
        return result
    rows = rows[np.argsort(l_code[rows], kind="stable")]
    starts = _group_starts(l_code[rows])
    sizes = np.diff(np.r_[starts, len(rows)])
    amounts, currencies = s.l_amt[rows], s.l_cur[rows]
    total = np.add.reduceat(amounts, starts)
    identical = np.minimum.reduceat(amounts, starts) == np.maximum.reduceat(amounts, starts)
    one_currency = np.minimum.reduceat(currencies, starts) == np.maximum.reduceat(currencies, starts)
    record = p_row_of_code[l_code[rows[starts]]]
    sums_to_record = (
        one_currency & (currencies[starts] == s.p_cur[record])
        & rules.split_booking.allows(s.p_amt[record] - total, s.p_amt[record], s.p_cur[record], s.currencies)
    )  # fmt: skip
    # identical copies are duplicates, unless they add up to the record and one copy alone would not
    one_copy_matches = rules.exact_reference.allows(
        s.p_amt[record] - amounts[starts], s.p_amt[record], s.p_cur[record], s.currencies
    )
    is_split = ~identical | (sums_to_record & ~one_copy_matches)
    result.records[record[is_split]] = True
    result.sum_p[record[is_split]] = total[is_split]
    result.one_currency_p[record[is_split]] = one_currency[is_split]
    result.lines[rows] = np.repeat(is_split, sizes)
    for g in np.flatnonzero(is_split & ~sums_to_record):
        result.members[int(record[g])] = rows[starts[g] : starts[g] + sizes[g]]
    return result


@dataclass
class _SplitTenders:
    members: np.ndarray  # processor rows in a group
    member_anchor: np.ndarray  # each member's ledger entry
    member_ok: np.ndarray  # each member's group sums to its entry
    anchors: np.ndarray  # ledger rows with a group
    anchor_sum: np.ndarray  # each anchor's group sum
    anchor_ok: np.ndarray
    anchor_members: list[np.ndarray]  # each anchor's processor rows


def _split_tenders(s: _Sides, rules: MatchingRules, booked, unexplained_primary) -> _SplitTenders | None:
    """Unbooked, non-failed records of one order (within the rule's drift of the entry), grouped under the
    order's earliest unexplained ledger entry, in the entry's currency."""
    p_order, l_order = _column(s.processor, "order_reference"), _column(s.ledger, "order_reference")
    if p_order.null_count == len(p_order) or l_order.null_count == len(l_order):
        return None
    (po, lo), orders = _codes(p_order, l_order)
    no_order = len(orders)
    entry_rows = np.flatnonzero(unexplained_primary & (lo != no_order))
    if not len(entry_rows):
        return None
    entry_rows = _earliest_first(s.ledger, entry_rows, lo[entry_rows])
    first = _group_starts(lo[entry_rows])
    anchor_of_order = np.full(no_order + 1, -1, dtype=np.int64)
    anchor_of_order[lo[entry_rows[first]]] = entry_rows[first]
    members = np.flatnonzero(~booked & (s.p_st != _FAILED) & (po != no_order))
    anchor = anchor_of_order[po[members]]
    keep = anchor >= 0
    members, anchor = members[keep], anchor[keep]
    keep = np.abs(s.p_day[members] - s.l_day[anchor]) <= rules.split_tender.date_drift_days
    members, anchor = members[keep], anchor[keep]
    if not len(members):
        return None
    order = np.argsort(anchor, kind="stable")
    members, anchor = members[order], anchor[order]
    starts = _group_starts(anchor)
    sizes = np.diff(np.r_[starts, len(members)])
    total = np.add.reduceat(s.p_amt[members], starts)
    cur = s.p_cur[members]
    anchors = anchor[starts]
    grouped = (np.minimum.reduceat(cur, starts) == np.maximum.reduceat(cur, starts)) & (cur[starts] == s.l_cur[anchors])
    ok = rules.split_tender.allows(total - s.l_amt[anchors], total, cur[starts], s.currencies)
    in_group = np.repeat(grouped, sizes)  # an order paid in two currencies is no group: left to the others
    return _SplitTenders(
        members=members[in_group], member_anchor=anchor[in_group], member_ok=np.repeat(ok, sizes)[in_group],
        anchors=anchors[grouped], anchor_sum=total[grouped], anchor_ok=ok[grouped],
        anchor_members=[members[starts[g] : starts[g] + sizes[g]] for g in np.flatnonzero(grouped & ~ok)],
    )  # fmt: skip


def _empty_discrepancies() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in DISCREPANCY_COLUMNS})
    for name in ("processor_amount_minor", "ledger_amount_minor", "at_risk_minor"):
        frame[name] = frame[name].astype("Int64")
    return frame


def _id_lists(table: pa.Table, name: str, groups: list[np.ndarray]) -> list[list[str]]:
    """Each group's ids, in row order: gathered from the column once for all groups."""
    if not groups:
        return []
    groups = [np.sort(g) for g in groups]
    values = _values(table, name, np.concatenate(groups)).tolist()
    bounds = np.cumsum([0] + [len(g) for g in groups])
    return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _processor_side_findings(s: _Sides, rows: np.ndarray, outcome, li, booked, split: _SplitBookings) -> pd.DataFrame:
    if not len(rows):
        return _empty_discrepancies()
    processor, ledger = s.processor, s.ledger
    kinds = np.array(PROCESSOR_OUTCOMES, dtype=object)[outcome[rows]]
    group = kinds == GROUP_AMOUNT_MISMATCH  # a split booking whose lines do not sum to the record
    has_ledger = booked[rows] & ~group
    lrows = li[rows]

    def ledger_col(name):
        if not ledger.num_rows:
            return np.full(len(rows), None, dtype=object)
        return np.where(has_ledger, _values(ledger, name, lrows).astype(object), None)

    p_amt = s.p_amt[rows]
    p_cur = _values(processor, "currency", rows)
    l_amt = ledger_col("amount_minor")
    l_amt[group] = split.sum_p[rows[group]]
    l_cur = ledger_col("currency")
    l_cur[group] = p_cur[group]
    at_risk = np.abs(p_amt)
    compared = (kinds == AMOUNT_MISMATCH) | group
    at_risk[compared] = np.abs(p_amt[compared] - l_amt[compared].astype(np.int64))
    members = np.full(len(rows), None, dtype=object)
    off = np.flatnonzero(group)
    for i, ids in zip(off, _id_lists(ledger, "ledger_id", [split.members[int(rows[i])] for i in off]), strict=True):
        members[i] = ids
    return pd.DataFrame(
        {
            "discrepancy_type": kinds,
            "kind": _values(processor, "kind", rows),
            "processor_txn_id": _values(processor, "processor_txn_id", rows),
            "ledger_id": ledger_col("ledger_id"),
            "related_ledger_id": None,
            "processor_amount_minor": pd.array(p_amt, dtype="Int64"),
            "processor_currency": p_cur,
            "processor_status": _values(processor, "status", rows),
            "ledger_amount_minor": pd.array(l_amt, dtype="Int64"),
            "ledger_currency": l_cur,
            "ledger_status": ledger_col("status"),
            "at_risk_minor": pd.array(at_risk, dtype="Int64"),
            "at_risk_currency": p_cur,
            "group_members": members,
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
            "kind": _values(ledger, "kind", rows),
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
            "group_members": None,
        }
    )


def _group_findings(s: _Sides, kind: str, anchors: np.ndarray, sums: np.ndarray, members: list[np.ndarray],
                    at_risk: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One finding per ledger entry for a group of processor records (keyed by the entry alone)."""
    currencies = _values(s.ledger, "currency", anchors)
    return pd.DataFrame(
        {
            "discrepancy_type": kind,
            "kind": _values(s.ledger, "kind", anchors),
            "processor_txn_id": None,
            "ledger_id": _values(s.ledger, "ledger_id", anchors),
            "related_ledger_id": None,
            "processor_amount_minor": pd.array(sums, dtype="Int64"),
            "processor_currency": currencies,
            "processor_status": None,
            "ledger_amount_minor": pd.array(s.l_amt[anchors], dtype="Int64"),
            "ledger_currency": currencies,
            "ledger_status": _values(s.ledger, "status", anchors),
            "at_risk_minor": pd.array(at_risk, dtype="Int64"),
            "at_risk_currency": currencies,
            "group_members": _id_lists(s.processor, "processor_txn_id", members),
        }
    )


def _tender_findings(s: _Sides, tender: _SplitTenders, l_today: np.ndarray) -> pd.DataFrame:
    """A split tender whose sum is off: one finding on the entry's day."""
    off = np.flatnonzero(~tender.anchor_ok)
    on_day = l_today[tender.anchors[off]]
    if not on_day.any():
        return _empty_discrepancies()
    anchors, sums = tender.anchors[off][on_day], tender.anchor_sum[off][on_day]
    members = [m for m, keep in zip(tender.anchor_members, on_day, strict=True) if keep]
    return _group_findings(s, GROUP_AMOUNT_MISMATCH, anchors, sums, members, np.abs(sums - s.l_amt[anchors]))


def _suggestion_findings(s: _Sides, outcome: np.ndarray, unexplained: np.ndarray) -> pd.DataFrame:
    """Groups of the day's payments missing in the ledger whose sum equals an entry missing at the processor (a
    dispute's movements are matched by their reference alone)."""
    entries = np.flatnonzero(unexplained & _is_payment(s.ledger))
    candidates = np.flatnonzero((outcome == _CODE[MISSING_IN_LEDGER]) & (s.p_day == 0) & _is_payment(s.processor))
    if not len(entries) or len(candidates) < SUGGESTION_SIZES[0]:
        return _empty_discrepancies()
    entries = entries[np.argsort(_values(s.ledger, "ledger_id", entries), kind="stable")]
    candidates = candidates[np.argsort(_values(s.processor, "processor_txn_id", candidates), kind="stable")]
    found = suggest_groups(
        s.l_amt[entries], s.l_cur[entries], s.p_amt[candidates], s.p_cur[candidates],
    )  # fmt: skip
    if not found:
        return _empty_discrepancies()
    anchors = np.array([entries[e] for e, _ in found], dtype=np.int64)
    members = [candidates[np.array(m)] for _, m in found]
    return _group_findings(
        s, SUGGESTED_MATCH, anchors, s.l_amt[anchors], members, np.zeros(len(anchors), dtype=np.int64)
    )


def _payments(table: pa.Table) -> pa.ChunkedArray | pa.Array:
    """Per row: a payment (a charge or a refund), not a dispute's movement."""
    kinds = pa.array([k.value for k in PAYMENT_KINDS], pa.string())
    return pc.is_in(_column(table, "kind"), value_set=kinds)


def _is_payment(table: pa.Table) -> np.ndarray:
    return _payments(table).to_numpy(zero_copy_only=False)


def _match_key(table: pa.Table, reference: str) -> pa.Array:
    """What a record and an entry are matched on: the reference; for a dispute's movement, the reference and
    its kind (a dispute's withdrawal, fee and reinstatement may share the dispute's reference)."""
    references = _column(table, reference)
    payments = _payments(table)
    if pc.all(payments).as_py() is not False:
        return references
    keyed = pc.binary_join_element_wise(references, _column(table, "kind"), "\x1f")
    return pc.if_else(payments, references, keyed)


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

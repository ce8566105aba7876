"""The canonical records every source is normalised into, and the rules every source's records obey.

Each source's wire models (in ``recon_assets.processors``) are pydantic models read a page at a time;
the types below are the checks they share. Canonical records are made a batch at a time, column by
column: a million of them a day must cost next to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AfterValidator, BaseModel, Field

from recon_assets.domain.money import CURRENCY_EXPONENTS, MoneyError, is_known_currency, to_minor


class Kind(StrEnum):
    """The money movements recon reconciles, one record each. A dispute moves money apart from its sale:
    funds withdrawn (``chargeback``, a processor's reversal included), returned when the merchant wins
    (``chargeback_reversal``), and the processor's fee for it (``dispute_fee``)."""

    CHARGE = "charge"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    CHARGEBACK_REVERSAL = "chargeback_reversal"
    DISPUTE_FEE = "dispute_fee"


PAYMENT_KINDS = (Kind.CHARGE, Kind.REFUND)  # a sale and its refund: the kinds a suggested match may group
DISPUTE_KINDS = (Kind.CHARGEBACK, Kind.CHARGEBACK_REVERSAL, Kind.DISPUTE_FEE)
MONEY_OUT = frozenset({Kind.REFUND, Kind.CHARGEBACK, Kind.DISPUTE_FEE})  # negative amounts; the rest positive


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


def _iso_currency(value: str) -> str:
    code = value.upper()
    if not is_known_currency(code):
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return code


# Amounts are stored as PostgreSQL bigint: anything outside it cannot be a real amount.
BIGINT = (-(2**63) + 1, 2**63 - 1)
MinorUnits = Annotated[int, Field(ge=BIGINT[0], le=BIGINT[1])]
# An ISO 4217 code in any case, read upper-cased.
Currency = Annotated[str, AfterValidator(_iso_currency)]


UTC_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class RecordLayout:
    """The fields of a canonical record, in order, with their Arrow types: a batch of records is a table."""

    schema: pa.Schema
    id_field: str  # with ``kind``, what makes two records the same record
    time_field: str  # the moment that decides the record's business day (UTC)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    def table(self, columns: dict[str, Any]) -> pa.Table:
        """The columns of a ``Canonical`` as a table of this layout (times converted to UTC)."""
        return pa.table([pa.array(columns[f.name], f.type) for f in self.schema], schema=self.schema)


# One processor money movement (a charge or a refund), amounts signed in minor units, times in UTC;
# ``order_reference`` is the merchant's order it paid (null when the processor carries none).
PROCESSOR_RECORD = RecordLayout(
    pa.schema([("processor_txn_id", pa.string()), ("kind", pa.string()), ("amount_minor", pa.int64()),
               ("currency", pa.string()), ("fee_minor", pa.int64()), ("status", pa.string()),
               ("occurred_at", UTC_TIME), ("order_reference", pa.string())]),
    id_field="processor_txn_id", time_field="occurred_at",
)  # fmt: skip
# One entry the business booked in its own ledger.
LEDGER_RECORD = RecordLayout(
    pa.schema([("ledger_id", pa.string()), ("processor_name", pa.string()), ("processor_reference", pa.string()),
               ("kind", pa.string()), ("amount_minor", pa.int64()), ("currency", pa.string()),
               ("fee_minor", pa.int64()), ("status", pa.string()), ("booked_at", UTC_TIME),
               ("merchant_id", pa.string()), ("order_reference", pa.string()), ("original_reference", pa.string())]),
    id_field="ledger_id", time_field="booked_at",
)  # fmt: skip


@dataclass
class Canonical:
    """A batch of wire records made canonical: one column per field of the record's schema, one entry per
    wire record (or several, where ``origins`` says), and the entries left out (by their index)."""

    columns: dict[str, Any]  # a list or a NumPy array per field (times: aware datetimes, or datetime64 in UTC)
    refused: dict[int, str] = field(default_factory=dict)  # the record contradicts itself: why
    skipped: np.ndarray | None = None  # True where the record moves no money we reconcile
    # per entry, the index of the wire record it was made from, where one record moves money twice (a Stripe
    # dispute's withdrawal and its fee); None: entry i is record i
    origins: np.ndarray | None = None


def dispute_canonical(
    moves: Sequence[tuple[int, str | None, int]], ids: Sequence[str], currencies: Sequence[str], times: Any,
    refused: dict[int, str] | None = None,
) -> Canonical:  # fmt: skip
    """The money disputes moved as canonical records, named by the dispute: ``moves`` gives each movement's
    wire record, kind (None: the record moved none, skipped) and signed amount; ``ids``, ``currencies`` and
    ``times`` are per movement. A movement has no fee of its own (a fee is a movement), no order, and is done;
    one whose amount has the wrong sign for its kind is refused, as are those in ``refused``."""
    origins = np.array([origin for origin, _, _ in moves], dtype=np.int64)
    kinds = [kind for _, kind, _ in moves]
    amounts = np.array([amount for _, _, amount in moves], dtype=np.int64)
    skipped = np.array([kind is None for kind in kinds], dtype=bool)
    count = len(moves)
    columns = {
        "processor_txn_id": list(ids), "kind": kinds, "amount_minor": amounts, "currency": list(currencies),
        "fee_minor": [0] * count, "status": [Status.SUCCEEDED] * count, "occurred_at": times,
        "order_reference": [None] * count,
    }  # fmt: skip
    wrong = {i: why for i, why in wrong_sign(kinds, amounts).items() if not skipped[i]}
    return Canonical(columns, wrong | (refused or {}), skipped, origins)


def wrong_sign(kinds: Sequence[str | None], amounts: np.ndarray) -> dict[int, str]:
    """Records whose amount has the wrong sign for their kind (``MONEY_OUT``: negative, the others
    positive); a record of no kind (None) is not judged."""
    column = np.asarray(kinds, dtype=object)
    reasons: dict[int, str] = {}
    for kind in set(kinds) - {None}:
        out = kind in MONEY_OUT
        wrong = np.flatnonzero((column == kind) & ((amounts > 0) if out else (amounts < 0)))
        side = "positive" if out else "negative"
        reasons |= {int(i): f"a {kind} with a {side} amount ({amounts[i]})" for i in wrong}
    return reasons


def minor_column(values: Sequence, currencies: Sequence[str]) -> tuple[np.ndarray, dict[int, str]]:
    """Major-unit decimals (``"12.50"``, ``Decimal("1.250")``) to minor units exactly; ``None`` stays 0.
    Values that cannot be held are refused by index, with the reason. Arrow converts a column per currency
    exponent, exactly (it refuses a value with more decimals than the exponent rather than round it); a group
    it refuses is converted value by value, which says which value and why."""
    minor, refused = np.zeros(len(values), dtype=np.int64), {}
    exponents = np.array([CURRENCY_EXPONENTS.get(c, -1) for c in currencies], dtype=np.int64)
    text = pa.array([None if v is None else str(v) for v in values], pa.string())
    for exp in np.unique(exponents).tolist():
        rows = np.flatnonzero(exponents == exp)
        scaled = _exact_decimals(text.take(rows), exp)
        if scaled is None:
            for i in rows.tolist():
                amount, reason = minor_value(values[i], currencies[i])
                minor[i] = amount
                if reason:
                    refused[i] = reason
            continue
        words = np.frombuffer(scaled.buffers()[1], dtype="<i8").reshape(-1, 2)[
            scaled.offset : scaled.offset + len(rows)
        ]
        low, high = words[:, 0], words[:, 1]
        present = ~np.asarray(scaled.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        held = (high == (low >> 63)) & (low != np.iinfo(np.int64).min)  # the 128-bit value is a bigint
        minor[rows[present & held]] = low[present & held]
        for i in rows[present & ~held].tolist():
            refused[i] = minor_value(values[i], currencies[i])[1]
        for i in _read_as_zero(text, rows[present & held & (low == 0)]).tolist():
            minor[i], reason = minor_value(values[i], currencies[i])
            refused[i] = reason
    return minor, refused


# A zero written as a decimal: Arrow reads a value with more than 38 decimals (``1E-39``) as 0 instead of
# refusing it, so a 0 it returns is taken only from a text that is a zero
_ZERO_TEXT = r"^\s*[+-]?0*\.?0*([eE][+-]?[0-9]+)?\s*$"


def _read_as_zero(text: pa.Array, rows: np.ndarray) -> np.ndarray:
    """Of ``rows`` (values Arrow converted to 0), those whose text is not a zero."""
    if not len(rows):
        return rows
    zero = pc.match_substring_regex(text.take(rows), _ZERO_TEXT).to_numpy(zero_copy_only=False)
    return rows[~zero.astype(bool)]


def _exact_decimals(text: pa.Array, exp: int) -> pa.Array | None:
    """Decimal texts as decimal128 with ``exp`` places, or None when a currency is unknown (``exp`` -1) or
    Arrow refuses a value (more decimals than ``exp``, not a number, too large)."""
    if exp < 0:
        return None
    try:
        return pc.cast(text, pa.decimal128(38, exp))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def minor_value(value: Any, currency: str) -> tuple[int, str | None]:
    """One value in minor units, or 0 and why it cannot be held."""
    if value is None:
        return 0, None
    try:
        amount = to_minor(value, currency)
    except MoneyError as exc:
        return 0, str(exc)
    if not BIGINT[0] <= amount <= BIGINT[1]:
        return 0, f"an amount no bigint holds ({amount} minor units)"
    return amount, None


class QuarantinedRecord(BaseModel):
    """A source record that failed validation: kept with the reason, never silently dropped."""

    source: str
    record_id: str | None
    reason: str
    raw: Any  # as received: an object, or whatever else the feed sent in its place

"""The sandbox's cash: each processor's payouts of a day's movements, the bank statements that show them
arriving, the ledger's payout and fee entries, and the settlement faults planted in them with the
findings they must produce (issue 14).

- Stripe pays a day's succeeded movements out per settlement currency two business days later (the
  currencies of ``stripe_converts`` converted into USD at the day's rate, its fee taken on the settled
  amount), Square per location and currency the next business day; PayPal's withdrawal of a day is
  initiated the next calendar day (its arrival date). A payout's amount is the sum of its items' nets
  (charges net of fees, refunds).
- The bank credits each payout on its arrival date into the account of its currency; every account also
  books a credit and a debit that are no processor's, every day.
- Per arrival day (with ``settlement_faults``), one payout each: the bank deducts its fee (a payout that
  carries a trace id), the payout claims more than its items (one with items), never reaches the bank,
  reaches it the day after its grace window closed, fails, and one credit is repeated by the bank.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from recon_assets.domain.money import exponent
from recon_assets.domain.settlement import (
    DEFAULT_GRACE_BUSINESS_DAYS,
    SANDBOX_FEE_RATE,
    add_business_days,
    grace_span_days,
)
from recon_assets.sandbox.bank_files import StatementEntry, write_bai2, write_camt053, write_mt940
from recon_assets.sandbox.world import _B62, SandboxConfig, _random_text, _rng, usd_rate, world

PAYOUT_BUSINESS_DAYS = {"stripe": 2, "square": 1}  # from the movements' day; PayPal: the next calendar day
COUNTERPARTY = {"stripe": "STRIPE", "square": "SQUARE INC", "paypal": "PAYPAL"}
# each currency's account, and the format its bank sends statements in
ACCOUNTS = {
    "USD": ("000123456789", "bai2"), "CAD": ("000223456789", "bai2"),
    "EUR": ("DE89370400440532013000", "camt053"), "JPY": ("JP0012345678901", "camt053"),
    "GBP": ("GB29NWBK60161331926819", "mt940"), "KWD": ("KW81CBKU0000000000001234560101", "mt940"),
    "AUD": ("AU0001234567", "mt940"),
}  # fmt: skip
WRITERS = {"bai2": (write_bai2, ".bai2"), "camt053": (write_camt053, ".xml"), "mt940": (write_mt940, ".mt940")}
PAYOUT_FAULTS = ("bank_fee", "composition", "missing", "late", "failed", "repeated_line")
STRIPE_DEFAULT_CURRENCY = "USD"  # where the Stripe account settles what it converts (``stripe_converts``)
LOOKBACK_DAYS = 7  # a payout arrives at most this many days after its movements' day


@dataclass(frozen=True)
class SandboxItem:
    item_id: str
    txn_id: str
    kind: str  # charge | refund
    gross_minor: int
    fee_minor: int
    net_minor: int
    created: datetime
    parent_id: str | None = None  # for a refund: the charge it refunds
    exchange_rate: Decimal | None = None  # set when converted: the amounts are then the settled ones


@dataclass(frozen=True)
class SandboxPayout:
    processor: str
    payout_id: str
    movement_day: date
    arrival_date: date
    currency: str
    amount_minor: int
    created: datetime
    items: tuple[SandboxItem, ...]
    trace: str | None = None  # Stripe's trace_id, Square's end_to_end_id
    location_id: str | None = None
    bank_reference: str = ""  # the bank's reference of its credit
    fault: str = ""  # one of PAYOUT_FAULTS, or none

    @property
    def failed(self) -> bool:
        return self.fault == "failed"


def arrival_of(processor: str, movement_day: date) -> date:
    if processor in PAYOUT_BUSINESS_DAYS:
        return add_business_days(movement_day, PAYOUT_BUSINESS_DAYS[processor])
    return movement_day + timedelta(days=1)


def _settled(config: SandboxConfig, processor: str, currency: str, day: date) -> tuple[str, Decimal | None]:
    """The currency a processor's movements in ``currency`` settle in, and the rate it converts them at."""
    if processor == "stripe" and currency in config.stripe_converts:
        return STRIPE_DEFAULT_CURRENCY, usd_rate(config, currency, day)
    return currency, None


def _converted(item: SandboxItem, currency: str, into: str, rate: Decimal) -> SandboxItem:
    """An item at the amounts its processor settled it at: converted, rounded half-up to the minor unit, its
    fee taken on the settled amount (the sandbox's rate with its cross-currency part)."""
    scale = Decimal(10) ** (exponent(into) - exponent(currency))
    gross = int((item.gross_minor * rate * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    fee = SANDBOX_FEE_RATE.fee(gross, converted=True) if item.kind == "charge" else 0
    return replace(item, gross_minor=gross, fee_minor=fee, net_minor=gross - fee, exchange_rate=rate)


@functools.lru_cache(maxsize=64)
def _payouts_of_movement_day(config: SandboxConfig, processor: str, day: date) -> tuple[SandboxPayout, ...]:
    """The payouts of one processor's succeeded movements of ``day``, per settlement currency (and Square
    location); a converted movement's item carries its settled amounts and the rate."""
    m = world(config, processor, day).movements
    settled = np.flatnonzero(m["status"] == "succeeded")
    rng = _rng(config.seed, processor, day.isoformat(), "payouts")
    arrival = arrival_of(processor, day)
    currencies = [str(c) for c in m["currency"][settled].tolist()]
    settles = {c: _settled(config, processor, c, day) for c in set(currencies)}  # the day's rate, once a currency
    groups: dict[tuple[str, str | None], list[int]] = {}
    for row, currency, location in zip(settled.tolist(), currencies, m["location_id"][settled].tolist(),
                                       strict=True):  # fmt: skip
        groups.setdefault((settles[currency][0], location), []).append(row)
    midnight = datetime.combine(day, time.min, tzinfo=UTC)
    prefix = "txn_" if processor == "stripe" else "poe_"
    payouts = []
    for (currency, location), rows in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or "")):
        columns = (m[name][rows].tolist() for name in ("txn_id", "kind", "amount_minor", "fee_minor", "seconds",
                                                          "parent_id", "currency"))  # fmt: skip
        items = []
        for item_id, txn_id, kind, gross, fee, seconds, parent, presented in zip(
            _random_text(rng, _B62, len(rows), 24), *columns, strict=True
        ):
            item = SandboxItem(prefix + item_id, str(txn_id), str(kind), gross, fee, gross - fee,
                               midnight + timedelta(seconds=seconds), parent)  # fmt: skip
            _, rate = settles[str(presented)]
            items.append(_converted(item, presented, currency, rate) if rate else item)
        amount = sum(i.net_minor for i in items)
        if amount <= 0:
            continue
        payouts.append(SandboxPayout(
            processor, _payout_id(rng, processor), day, arrival, currency, amount,
            datetime.combine(day + timedelta(days=1), time(2 if processor != "paypal" else 10), tzinfo=UTC),
            tuple(items), _trace(rng, processor), location, bank_reference=f"BR{int(rng.integers(10**11, 10**12))}",
        ))  # fmt: skip
    return tuple(payouts)


def _payout_id(rng: np.random.Generator, processor: str) -> str:
    text = _random_text(rng, _B62, 1, 24)[0]
    return {"stripe": f"po_{text}", "square": f"po_{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:]}".lower(),
            "paypal": text[:17].upper()}[processor]  # fmt: skip


def _trace(rng: np.random.Generator, processor: str) -> str | None:
    if processor == "stripe":
        return str(int(rng.integers(10**14, 10**15)))
    return f"L21{int(rng.integers(10**7, 10**8))}" if processor == "square" else None


@functools.lru_cache(maxsize=64)
def payouts_arriving(config: SandboxConfig, day: date) -> tuple[SandboxPayout, ...]:
    """Every processor's payouts with ``day`` as arrival date, the day's faults planted."""
    arriving = [
        p for processor in config.processors for back in range(LOOKBACK_DAYS + 1)
        if arrival_of(processor, day - timedelta(days=back)) == day  # only the days paid out on ``day`` are made
        for p in _payouts_of_movement_day(config, processor, day - timedelta(days=back))
    ]  # fmt: skip
    if not config.settlement_faults:
        return tuple(arriving)
    order = _rng(config.seed, "payout-faults", day.isoformat()).permutation(len(arriving))
    arriving = [arriving[i] for i in order]
    fits = {"bank_fee": lambda p: p.trace is not None, "composition": lambda p: p.processor != "paypal"}
    for fault in PAYOUT_FAULTS:
        index = next((i for i, p in enumerate(arriving) if not p.fault and fits.get(fault, bool)(p)), None)
        if index is not None:
            planted = replace(arriving[index], fault=fault)
            if fault == "composition":  # the payout claims one major unit more than its items net to
                planted = replace(planted, amount_minor=planted.amount_minor + 10 ** exponent(planted.currency))
            arriving[index] = planted
    return tuple(sorted(arriving, key=lambda p: (p.processor, p.payout_id)))


def bank_fee(payout: SandboxPayout) -> int:
    """What the bank deducts from a credit it charges for: 15 major units, or a tenth of a small payout."""
    return min(15 * 10 ** exponent(payout.currency), max(1, payout.amount_minor // 10))


def credits_of(payout: SandboxPayout, grace: int = DEFAULT_GRACE_BUSINESS_DAYS) -> Iterator[tuple[date, int]]:
    """(booking date, amount) of each bank credit a payout makes."""
    if payout.fault in ("missing", "failed"):
        return
    if payout.fault == "late":  # the day after its grace window closed
        yield add_business_days(payout.arrival_date, grace) + timedelta(days=1), payout.amount_minor
    elif payout.fault == "bank_fee":
        yield payout.arrival_date, payout.amount_minor - bank_fee(payout)
    else:
        yield payout.arrival_date, payout.amount_minor
        if payout.fault == "repeated_line":
            yield payout.arrival_date, payout.amount_minor


def _candidates(config: SandboxConfig, day: date) -> Iterator[SandboxPayout]:
    """The payouts whose credits may be booked on ``day``."""
    for back in range(grace_span_days() + 2):
        yield from payouts_arriving(config, day - timedelta(days=back))


def statement_entries(config: SandboxConfig, day: date) -> dict[str, list[StatementEntry]]:
    """Each account's lines booked on ``day``, in the order the bank lists them."""
    rng = _rng(config.seed, "bank", day.isoformat())
    entries: dict[str, list[StatementEntry]] = {}
    for payout in _candidates(config, day):
        for booked, amount in credits_of(payout):
            if booked == day:
                entries.setdefault(payout.currency, []).append(StatementEntry(
                    amount, payout.currency, COUNTERPARTY[payout.processor], f"TRANSFER {payout.payout_id[:16]}",
                    payout.bank_reference, payout.trace,
                ))  # fmt: skip
    for currency in ACCOUNTS:
        scale = 10 ** exponent(currency)
        entries.setdefault(currency, []).extend([
            StatementEntry(int(rng.integers(1, 50)) * scale, currency, "RECON SANDBOX BANK", "INTEREST",
                           f"BI{int(rng.integers(10**11, 10**12))}"),
            StatementEntry(-int(rng.integers(100, 5_000)) * scale, currency, "ACME PAYROLL SERVICES", "PAYROLL",
                           f"BP{int(rng.integers(10**11, 10**12))}"),
        ])  # fmt: skip
    return entries


def statement_files(config: SandboxConfig, day: date) -> dict[str, bytes]:
    """The day's statement files, one per account in its bank's format: ``<day>/<account>.<format>``."""
    files = {}
    for currency, lines in statement_entries(config, day).items():
        account, fmt = ACCOUNTS[currency]
        write, ending = WRITERS[fmt]
        text = write(account, day, lines)
        files[f"{day.isoformat()}/{account}{ending}"] = text if isinstance(text, bytes) else text.encode()
    return files


def ledger_settlement_entries(config: SandboxConfig, processor: str, day: date) -> list[tuple]:
    """The ledger's entries for the processor's payouts arriving ``day``: the payout received, and (where the
    payout lists its items) the fees it withheld. (ledger id, payout id, kind, amount, currency, booked at)."""
    entries = []
    for n, payout in enumerate(p for p in payouts_arriving(config, day) if p.processor == processor):
        if payout.failed:
            continue
        at = datetime.combine(day, time(12), tzinfo=UTC) + timedelta(seconds=n)
        prefix = f"led_po{processor[:2]}{day:%Y%m%d}{n:04d}"
        entries.append((f"{prefix}P", payout.payout_id, "payout", payout.amount_minor, payout.currency, at))
        if processor != "paypal":
            fees = sum(i.fee_minor for i in payout.items)
            entries.append((f"{prefix}F", payout.payout_id, "fee", -fees, payout.currency, at))
    return entries


def expected_settlement(
    config: SandboxConfig, day: date, stated_through: date | None = None
) -> set[tuple[str, str, str | None, str | None, str | None]]:
    """Ground truth for ``day`` once every grace window reaching it has closed, the bank having stated the
    days through ``stated_through`` (default: the day's window, ``grace_span_days`` after it):
    (discrepancy_type, processor, payout_id, bank_reference, processor_txn_id) of each settlement finding
    dated ``day``. A late payout whose credit carries its trace id is matched once that credit is stated."""
    stated_through = stated_through or day + timedelta(days=grace_span_days())
    expected = set()
    for payout in payouts_arriving(config, day):
        key = (payout.processor, payout.payout_id)
        late_credit = next((booked for booked, _ in credits_of(payout)), None) if payout.fault == "late" else None
        if payout.fault == "missing" or (late_credit and (payout.trace is None or late_credit > stated_through)):
            expected.add(("payout_not_in_bank", *key, None, None))
        elif payout.fault == "bank_fee":
            expected.add(("payout_amount_mismatch", *key, payout.bank_reference, None))
        elif payout.fault == "composition":
            expected.add(("payout_composition_mismatch", *key, None, None))
        if payout.processor == "paypal":  # a withdrawal lists no items: nothing more to check
            continue
        movements = world(config, payout.processor, payout.movement_day)
        unbooked = {txn for kind, txn, _ in movements.expected if kind == "missing_in_ledger"}
        expected |= {("paid_out_not_booked", *key, None, i.txn_id) for i in payout.items if i.txn_id in unbooked}
        expected |= {("fee_variance", payout.processor, None, None, i.txn_id) for i in payout.items
                     if i.txn_id in movements.fee_variances}  # fmt: skip
    if "paypal" in config.processors:  # PayPal's fee comes with the payment: dated as the payment
        expected |= {("fee_variance", "paypal", None, None, txn) for txn in world(config, "paypal", day).fee_variances}
    for payout in _candidates(config, day):
        credits = [booked for booked, _ in credits_of(payout) if booked == day]
        if payout.fault == "late" and credits and payout.trace is None:  # a traced one names its payout
            expected.add(("unexplained_bank_credit", payout.processor, None, payout.bank_reference, None))
        if payout.fault == "repeated_line" and len(credits) > 1:
            expected.add(("unexplained_bank_credit", payout.processor, None, payout.bank_reference, None))
    return expected

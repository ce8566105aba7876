"""The cash side in the warehouse: payouts and their items by arrival date, what a day's settlement reads
around it, how payouts met the bank, and each processor's cash position."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from recon_assets.domain.findings import MISSING_IN_LEDGER, PAYOUT_NOT_IN_BANK
from recon_assets.domain.settlement import (
    HOLD,
    HOLD_RELEASE,
    PAID_OUT_WITHIN_DAYS,
    Activity,
    BalanceHold,
    BankLine,
    CashPosition,
    ChargeFee,
    Payout,
    PayoutItem,
    PayoutMatch,
)
from recon_assets.warehouse.locks import lock_partition
from recon_assets.warehouse.store import bulk_joins, copy_rows, delete_partition, make_day_partitions

PAYOUT_COLUMNS = ("processor_name", "payout_id", "arrival_date", "amount_minor", "currency", "expected_in_bank",
                  "trace_id", "itemised", "dagster_run_id")  # fmt: skip
PAYOUT_TYPES = ("text", "text", "date", "int8", "text", "bool", "text", "bool", "text")
ITEM_COLUMNS = ("processor_name", "payout_id", "item_id", "arrival_date", "processor_txn_id", "kind", "gross_minor",
                "fee_minor", "net_minor", "currency", "occurred_at", "exchange_rate", "dagster_run_id")  # fmt: skip
ITEM_TYPES = ("text", "text", "text", "date", "text", "text", "int8", "int8", "int8", "text", "timestamptz", "numeric",
              "text")  # fmt: skip
MATCH_COLUMNS = ("arrival_date", "processor_name", "payout_id", "bank_line_id", "booking_date", "method",
                 "dagster_run_id")  # fmt: skip
MATCH_TYPES = ("date", "text", "text", "text", "date", "text", "text")
POSITION_COLUMNS = ("business_date", "processor_name", "currency", "gross_minor", "refunds_minor", "fees_minor",
                    "net_minor", "paid_out_minor", "in_transit_minor", "on_hold_minor", "presented",
                    "dagster_run_id")  # fmt: skip
POSITION_TYPES = ("date", "text", "text", "int8", "int8", "int8", "int8", "int8", "int8", "int8", "jsonb", "text")
HOLD_COLUMNS = ("processor_name", "business_date", "hold_id", "kind", "amount_minor", "currency", "occurred_at",
                "dagster_run_id")  # fmt: skip
HOLD_TYPES = ("text", "date", "text", "text", "int8", "text", "timestamptz", "text")
# a day's payments (t) with the payout item that settled each, where one arrived: from the day before the
# payment's (an instant payout dated in UTC, ahead of a business day east of it) for PAID_OUT_WITHIN_DAYS, so
# that only those days' items are read
ITEM_OF_PAYMENT = sql.SQL("""LEFT JOIN payout_items i
    ON i.processor_name = t.processor_name AND i.processor_txn_id = t.processor_txn_id
       AND i.arrival_date BETWEEN %(day)s::date - 1 AND %(day)s::date + %(paid_out_within)s::integer""")


def _payments_with_items(conn: psycopg.Connection, query: str, day: date) -> list[tuple]:
    """Rows of ``query``, which reads the day's payments (``t``, of ``%(day)s``) joined ``{item_of_payment}``,
    in one bulk join (``bulk_joins``)."""
    with bulk_joins(conn):
        return conn.execute(
            sql.SQL(query).format(item_of_payment=ITEM_OF_PAYMENT),
            {"day": day, "paid_out_within": PAID_OUT_WITHIN_DAYS},
        ).fetchall()


def replace_payouts(
    conn: psycopg.Connection,
    processor: str,
    day: date,
    payouts: Sequence[Payout],
    items: Sequence[PayoutItem],
    run_id: str,
    holds: Sequence[BalanceHold] = (),
) -> tuple[int, int]:
    """The processor's payouts arriving ``day`` and their items, and the funds it held and released on the day
    outside them, replacing what the day held."""
    currency = {p.payout_id: p.currency for p in payouts}
    make_day_partitions(conn, day)
    with conn.transaction():
        lock_partition(conn, "payouts", processor, day)
        delete_partition(conn, "payout_items", {"processor_name": processor, "arrival_date": day})
        delete_partition(conn, "payouts", {"processor_name": processor, "arrival_date": day})
        delete_partition(conn, "balance_holds", {"processor_name": processor, "business_date": day})
        copy_rows(
            conn, "balance_holds", HOLD_COLUMNS,
            ((processor, day, h.hold_id, h.kind, h.amount_minor, h.currency, h.occurred_at, run_id) for h in holds),
            HOLD_TYPES,
        )  # fmt: skip
        written = copy_rows(
            conn, "payouts", PAYOUT_COLUMNS,
            ((processor, p.payout_id, day, p.amount_minor, p.currency, p.expected_in_bank, p.trace_id, p.itemised,
              run_id) for p in payouts),
            PAYOUT_TYPES,
        )  # fmt: skip
        item_rows = copy_rows(
            conn, "payout_items", ITEM_COLUMNS,
            ((processor, i.payout_id, i.item_id, day, i.processor_txn_id, i.kind, i.gross_minor, i.fee_minor,
              i.net_minor, currency[i.payout_id], i.occurred_at, i.exchange_rate, run_id) for i in items),
            ITEM_TYPES,
        )  # fmt: skip
    return written, item_rows


def settled_days(conn: psycopg.Connection, day: date) -> dict[str, list[date]]:
    """Per processor, the UTC days of the movements its payouts arriving ``day`` settled."""
    rows = conn.execute(
        """SELECT DISTINCT processor_name, (occurred_at AT TIME ZONE 'UTC')::date FROM payout_items
           WHERE arrival_date = %s AND occurred_at IS NOT NULL ORDER BY 1, 2""",
        (day,),
    ).fetchall()
    days: dict[str, list[date]] = {}
    for processor, settled in rows:
        days.setdefault(processor, []).append(settled)
    return days


def _payouts(rows) -> list[Payout]:
    return [Payout(p, pid, amount, currency.strip(), day, expected, trace, itemised)
            for p, pid, amount, currency, day, expected, trace, itemised in rows]  # fmt: skip


def _lines(rows) -> list[BankLine]:
    return [BankLine(lid, ref, day, amount, currency.strip(), text, trace, account)
            for lid, ref, day, amount, currency, text, trace, account in rows]  # fmt: skip


def payouts_between(conn: psycopg.Connection, first: date, last: date) -> list[Payout]:
    """Every processor's payouts arriving from ``first`` to ``last``."""
    rows = conn.execute(
        """SELECT processor_name, payout_id, amount_minor, currency, arrival_date, expected_in_bank, trace_id, itemised
           FROM payouts WHERE arrival_date BETWEEN %s AND %s ORDER BY arrival_date, processor_name, payout_id""",
        (first, last),
    ).fetchall()
    return _payouts(rows)


def payouts_with_traces(conn: psycopg.Connection, traces: Sequence[str], before: date) -> list[Payout]:
    """Payouts arriving before ``before`` whose trace id is one of ``traces`` (a line that names them, late)."""
    rows = conn.execute(
        """SELECT processor_name, payout_id, amount_minor, currency, arrival_date, expected_in_bank, trace_id, itemised
           FROM payouts WHERE trace_id = ANY(%s) AND arrival_date < %s
           ORDER BY arrival_date, processor_name, payout_id""",
        (list(traces), before),
    ).fetchall()
    return _payouts(rows)


def items_arriving(conn: psycopg.Connection, day: date) -> list[PayoutItem]:
    """The items of every payout arriving ``day``."""
    rows = conn.execute(
        """SELECT payout_id, processor_txn_id, net_minor, kind, gross_minor, fee_minor, item_id, occurred_at,
                  exchange_rate
           FROM payout_items WHERE arrival_date = %s ORDER BY processor_name, payout_id, item_id""",
        (day,),
    ).fetchall()
    return [PayoutItem(*row) for row in rows]


def lines_between(conn: psycopg.Connection, first: date, last: date) -> list[BankLine]:
    """The bank's lines booked from ``first`` to ``last``."""
    rows = conn.execute(
        """SELECT line_id, bank_reference, booking_date, amount_minor, currency, text, reference, account
           FROM bank_statement_lines WHERE booking_date BETWEEN %s AND %s ORDER BY booking_date, line_id""",
        (first, last),
    ).fetchall()
    return _lines(rows)


def lines_with_references(conn: psycopg.Connection, references: Sequence[str], after: date) -> list[BankLine]:
    """Credits booked after ``after`` that carry one of ``references`` (a payout's trace id, arriving late)."""
    rows = conn.execute(
        """SELECT line_id, bank_reference, booking_date, amount_minor, currency, text, reference, account
           FROM bank_statement_lines WHERE reference = ANY(%s) AND booking_date > %s AND amount_minor > 0
           ORDER BY booking_date, line_id""",
        (list(references), after),
    ).fetchall()
    return _lines(rows)


def stated_through(conn: psycopg.Connection) -> date | None:
    """The last day the bank's statements have told us about (None before the first statement)."""
    return conn.execute("SELECT max(booking_date) FROM bank_statement_lines").fetchone()[0]


def unbooked_transactions(
    conn: psycopg.Connection, processor: str, txn_ids: Iterable[str]
) -> dict[tuple[str, str], tuple[int, str]]:
    """Of ``txn_ids``, the movements with an open finding of missing in the ledger: (id, kind) -> (amount,
    currency)."""
    rows = conn.execute(
        """SELECT processor_txn_id, kind, processor_amount_minor, processor_currency FROM discrepancies
           WHERE processor_name = %s AND discrepancy_type = %s AND resolved_on IS NULL
             AND processor_txn_id = ANY(%s)""",
        (processor, MISSING_IN_LEDGER.name, list(txn_ids)),
    ).fetchall()
    return {(txn, kind): (int(amount), currency.strip()) for txn, kind, amount, currency in rows}


def fees_of_transactions(conn: psycopg.Connection, processor: str, day: date) -> list[ChargeFee]:
    """The fees a processor reports on its payments themselves (PayPal's ``fee_amount``), for the day's
    charges that went through."""
    rows = conn.execute(
        """SELECT processor_txn_id, amount_minor, currency, coalesce(fee_minor, 0) FROM processor_transactions
           WHERE processor_name = %s AND business_date = %s AND kind = 'charge'
             AND status IN ('succeeded', 'refunded')""",
        (processor, day),
    ).fetchall()
    return [
        ChargeFee(processor, txn, day, int(amount), currency.strip(), int(fee)) for txn, amount, currency, fee in rows
    ]


def charged_currencies(conn: psycopg.Connection, day: date) -> list[tuple[str, str]]:
    """The (processor, currency) pairs the day's charges took their fees in: the charge's own currency, or
    the one it was converted into and settled in."""
    rows = _payments_with_items(
        conn,
        """SELECT DISTINCT t.processor_name, CASE WHEN i.exchange_rate IS NULL THEN t.currency ELSE i.currency END
           FROM processor_transactions t {item_of_payment}
           WHERE t.business_date = %(day)s AND t.kind = 'charge' ORDER BY 1, 2""",
        day,
    )
    return [(processor, currency.strip()) for processor, currency in rows]


def replace_matches(
    conn: psycopg.Connection, day: date, matches: Sequence[PayoutMatch], payouts: Mapping[str, Payout],
    lines: Mapping[str, BankLine], run_id: str,
) -> int:  # fmt: skip
    """How the payouts arriving ``day`` met the bank, replacing the day's last answer."""
    with conn.transaction():
        delete_partition(conn, "payout_matches", {"arrival_date": day})
        return copy_rows(
            conn, "payout_matches", MATCH_COLUMNS,
            ((day, payouts[m.payout_id].processor, m.payout_id, m.line_id, lines[m.line_id].booking_date, m.method,
              run_id) for m in matches),
            MATCH_TYPES,
        )  # fmt: skip


def day_activity(conn: psycopg.Connection, day: date) -> list[Activity]:
    """Per processor, settlement and presentment currency, the day's payments (not a dispute's money: its
    withdrawal and fee share the dispute's payout item) that went through. A fee is
    the payout item's where the processor reports it there (Stripe), else the payment's; a payment its
    processor converted counts in the currency it settled in, at the amounts its payout item gives."""
    rows = _payments_with_items(
        conn,
        """WITH settled AS (
               SELECT t.processor_name, t.kind, t.currency AS presented_in, t.amount_minor AS presented_minor,
                      CASE WHEN i.exchange_rate IS NULL THEN t.currency ELSE i.currency END AS currency,
                      CASE WHEN i.exchange_rate IS NULL THEN t.amount_minor ELSE i.gross_minor END AS amount_minor,
                      CASE WHEN i.fee_minor IS NOT NULL THEN i.fee_minor ELSE coalesce(t.fee_minor, 0) END AS fee_minor
               FROM processor_transactions t {item_of_payment}
               WHERE t.business_date = %(day)s AND t.status IN ('succeeded', 'refunded')
                 AND t.kind IN ('charge', 'refund'))
           SELECT processor_name, currency, presented_in,
                  coalesce(sum(amount_minor) FILTER (WHERE kind = 'charge'), 0),
                  coalesce(sum(amount_minor) FILTER (WHERE kind = 'refund'), 0),
                  coalesce(sum(fee_minor), 0),
                  coalesce(sum(presented_minor) FILTER (WHERE kind = 'charge'), 0)
           FROM settled GROUP BY processor_name, currency, presented_in""",
        day,
    )
    return [Activity(p, c.strip(), pc.strip(), int(g), int(r), int(f), int(pg)) for p, c, pc, g, r, f, pg in rows]


def replace_cash_positions(conn: psycopg.Connection, day: date, positions: Sequence[CashPosition], run_id: str) -> int:
    make_day_partitions(conn, day)
    with conn.transaction():
        lock_partition(conn, "cash_positions", day)
        delete_partition(conn, "cash_positions", {"business_date": day})
        return copy_rows(
            conn, "cash_positions", POSITION_COLUMNS,
            ((day, c.processor, c.currency, c.gross_minor, c.refunds_minor, c.fees_minor, c.net_minor,
              c.paid_out_minor, c.in_transit_minor, c.on_hold_minor, Jsonb(dict(c.presented)), run_id)
             for c in positions),
            POSITION_TYPES,
        )  # fmt: skip


def held_on(conn: psycopg.Connection, day: date) -> list[tuple[str, str, int]]:
    """Per processor and currency, the funds held for disputes on ``day`` net of those released: the holds on
    the balance outside payouts (PayPal's), and the hold adjustments of the payouts arriving that day (Square's)."""
    rows = conn.execute(
        """SELECT processor_name, currency, -sum(amount_minor) FROM (
               SELECT processor_name, currency, amount_minor FROM balance_holds WHERE business_date = %(day)s
               UNION ALL
               SELECT processor_name, currency, net_minor FROM payout_items
               WHERE arrival_date = %(day)s AND kind IN (%(hold)s, %(release)s)) AS moved
           GROUP BY processor_name, currency ORDER BY 1, 2""",
        {"day": day, "hold": HOLD, "release": HOLD_RELEASE},
    ).fetchall()
    return [(processor, currency.strip(), int(held)) for processor, currency, held in rows]


def matched_payouts(conn: psycopg.Connection, day: date) -> list[str]:
    """The payouts arriving ``day`` that the bank credited."""
    return [r[0] for r in conn.execute("SELECT payout_id FROM payout_matches WHERE arrival_date = %s", (day,))]


def in_transit_payouts(conn: psycopg.Connection, day: date) -> list[str]:
    """The payouts arriving ``day`` due in the bank, not credited yet and not (yet) found missing."""
    return [r[0] for r in conn.execute(
        """SELECT p.payout_id FROM payouts p
           WHERE p.arrival_date = %(day)s AND p.expected_in_bank
             AND NOT EXISTS (SELECT 1 FROM payout_matches m
                             WHERE m.processor_name = p.processor_name AND m.payout_id = p.payout_id)
             AND NOT EXISTS (SELECT 1 FROM discrepancies d
                             WHERE d.processor_name = p.processor_name AND d.payout_id = p.payout_id
                               AND d.discrepancy_type = %(missing)s AND d.resolved_on IS NULL)""",
        {"day": day, "missing": PAYOUT_NOT_IN_BANK.name},
    )]  # fmt: skip


def cash_positions_of(conn: psycopg.Connection, day: date) -> list[CashPosition]:
    """The day's cash position as the last run wrote it, processor by processor."""
    rows = conn.execute(
        """SELECT processor_name, currency, gross_minor, refunds_minor, fees_minor, net_minor, paid_out_minor,
                  in_transit_minor, on_hold_minor, presented FROM cash_positions WHERE business_date = %s
           ORDER BY processor_name, currency""",
        (day,),
    ).fetchall()
    return [CashPosition(p, c.strip(), *amounts, presented=tuple(sorted((k, int(v)) for k, v in presented.items())))
            for p, c, *amounts, presented in rows]  # fmt: skip

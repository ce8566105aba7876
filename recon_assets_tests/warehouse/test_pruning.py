"""A day's reads touch a bounded number of days (issue 29): every statement the reconciliation window, the
data-quality checks, the summary, the settlement and the reports send is planned again with ``EXPLAIN``
on a warehouse holding nine days, and the partitions in its plan must be those of the days it needs."""

import json
import re
from collections import defaultdict
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql

from recon_assets.domain.settlement import PAID_OUT_WITHIN_DAYS
from recon_assets.warehouse import findings, landing, runs, settlement, store
from recon_assets.warehouse.landing import LEDGER_TRANSACTIONS, PROCESSOR_TRANSACTIONS

DAY = date(2026, 11, 20)
PARTITION = re.compile(r"^(?P<table>\w+)_(?P<day>\d{8})$")


class Recording(psycopg.Cursor):
    """A cursor that keeps every statement it runs, with its parameters."""

    statements: list = []

    def execute(self, query, params=None, **kwargs):
        Recording.statements.append((query, params))
        return super().execute(query, params, **kwargs)


def _days(first: int, last: int) -> set[str]:
    return {(DAY + timedelta(days=offset)).strftime("%Y%m%d") for offset in range(first, last + 1)}


ITEMS_OF_PAYMENTS = (-1, PAID_OUT_WITHIN_DAYS)  # the payout items the day's payments may have been settled by
READS = {  # what is read for DAY, the days either side it may touch, and (where other) the payout items' days
    "reconciliation window": (lambda conn, url: findings.load_window(conn, url, "stripe", DAY), 1),
    "landing: moved records": (lambda conn, url: landing.refuse_moved_records(
        conn, PROCESSOR_TRANSACTIONS, "stripe", DAY), landing.NEIGHBOUR_DAYS),
    "checks": (lambda conn, url: (
        landing.landed_counts(conn, PROCESSOR_TRANSACTIONS, "stripe", DAY),
        landing.landed_counts(conn, LEDGER_TRANSACTIONS, "ledger", DAY),
        landing.large_amounts(conn, PROCESSOR_TRANSACTIONS, "stripe", DAY, {"USD": 1_000}),
        landing.ledger_duplicate_bookings(conn, DAY),
        landing.trailing_daily_average(conn, "stripe", DAY),
        landing.landed_totals(conn, PROCESSOR_TRANSACTIONS, "stripe", DAY),
        landing.landed_preview(conn, PROCESSOR_TRANSACTIONS, "stripe", DAY, 5)), 0),
    "summary": (lambda conn, url: runs.day_counts(conn, "stripe", DAY), 0),
    "settlement": (lambda conn, url: (
        settlement.items_arriving(conn, DAY), settlement.settled_days(conn, DAY),
        settlement.fees_of_transactions(conn, "paypal", DAY), settlement.held_on(conn, DAY)), 0),
    "cash position": (lambda conn, url: settlement.day_activity(conn, DAY), 0, ITEMS_OF_PAYMENTS),
    "reports": (lambda conn, url: (
        findings.report_rows(conn, "stripe", DAY), settlement.cash_positions_of(conn, DAY),
        settlement.charged_currencies(conn, DAY)), 0, ITEMS_OF_PAYMENTS),
}  # fmt: skip


def _relations(plan) -> set[str]:
    if isinstance(plan, dict):
        found = {plan["Relation Name"]} if "Relation Name" in plan else set()
        return found.union(*(_relations(value) for value in plan.values()))
    if isinstance(plan, list):
        return set().union(*(_relations(value) for value in plan))
    return set()


def _plans(conn, url, read, monkeypatch) -> list:
    """The plan of every read ``read`` sends, each under the settings it was sent with."""
    monkeypatch.setattr(Recording, "statements", [])
    real_read_arrow = findings.read_arrow  # the window is read over connections of its own
    monkeypatch.setattr(findings, "read_arrow", lambda url, query, schema: (
        Recording.statements.append((query, None)), real_read_arrow(url, query, schema))[1])  # fmt: skip
    conn.cursor_factory = Recording
    read(conn, url)
    conn.cursor_factory = psycopg.Cursor
    literal = psycopg.ClientCursor(conn)
    plans = []
    for query, params in Recording.statements:
        text = query.as_string(conn) if isinstance(query, sql.Composable) else query
        if text.lstrip().upper().startswith(("SELECT", "WITH")):
            plans.append(conn.execute("EXPLAIN (FORMAT JSON) " + literal.mogrify(text, params)).fetchone()[0])
        else:  # a setting
            conn.execute(literal.mogrify(text, params))
    return plans


@pytest.mark.parametrize("name", list(READS))
def test_a_day_s_reads_touch_only_the_days_they_need(warehouse_url, monkeypatch, name):
    read, around, *items = READS[name]
    allowed = defaultdict(lambda: _days(-around, around), {"payout_items": _days(*items[0])} if items else {})
    with psycopg.connect(warehouse_url.libpq) as conn:
        for offset in (*range(-4, 5), PAID_OUT_WITHIN_DAYS + 1):  # the last a day no read of DAY's reaches
            store.make_day_partitions(conn, DAY + timedelta(days=offset))
        conn.commit()
        touched = {r for plan in _plans(conn, warehouse_url, read, monkeypatch) for r in _relations(plan)
                   if PARTITION.match(r)}  # fmt: skip
    assert touched, f"{name}: no day partition read"
    outside = {r for r in touched if PARTITION.match(r)["day"] not in allowed[PARTITION.match(r)["table"]]}
    assert not outside, (name, sorted(outside))


def test_a_day_s_payments_meet_their_payout_items_in_one_bulk_join(warehouse_url, monkeypatch):
    """A day's partitions analysed while they held a row each, as autovacuum may leave a day being written:
    the cash position's and the report's join of the day's payments to their payout items is still one hash or
    merge join, not a probe of the items per payment (44 s instead of 0.1 s for a 20,000-payment day)."""
    with psycopg.connect(warehouse_url.libpq) as conn:
        store.make_day_partitions(conn, DAY)
        conn.execute(
            """INSERT INTO processor_transactions (business_date, processor_name, processor_txn_id, kind,
                   amount_minor, currency, status, occurred_at, raw)
               VALUES (%s, 'stripe', 'ch_1', 'charge', 1000, 'USD', 'succeeded', %s, '{}')""",
            (DAY, DAY),
        )
        conn.execute(
            """INSERT INTO payout_items (processor_name, payout_id, item_id, arrival_date, processor_txn_id, kind,
                   gross_minor, fee_minor, net_minor, currency)
               VALUES ('stripe', 'po_1', 'txn_1', %s, 'ch_1', 'charge', 1000, 30, 970, 'USD')""",
            (DAY,),
        )
        conn.execute(sql.SQL("ANALYZE {}, {}").format(sql.Identifier(f"processor_transactions_{DAY:%Y%m%d}"),
                                                      sql.Identifier(f"payout_items_{DAY:%Y%m%d}")))  # fmt: skip
        conn.commit()
        plans = _plans(conn, warehouse_url, lambda conn, url: (
            settlement.day_activity(conn, DAY), settlement.charged_currencies(conn, DAY)), monkeypatch)  # fmt: skip
    assert len(plans) == 2
    assert all("Nested Loop" not in json.dumps(plan) for plan in plans), plans

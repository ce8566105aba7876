"""Reconcile N processor records against N ledger entries in the pure engine, and the same classification
in DuckDB over the same Arrow tables; print both throughputs (ours last).

python benchmarks/engine.py --rows 1000000

Both sides read the same Arrow tables (what the warehouse read-back gives the engine) and produce the same
rows: an outcome per processor record of the day, and the ledger-only findings (missing at the processor,
duplicate bookings). The counts of each are compared before any figure is printed.
"""

import argparse
import time
from collections import Counter
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from recon_assets.domain.matching import LEDGER_SCHEMA, PROCESSOR_SCHEMA, as_table, reconcile

DAY = date(2026, 1, 2)

_STATUS = """CASE lower(status) WHEN 'succeeded' THEN 0 WHEN 'refunded' THEN 0 WHEN 'completed' THEN 0
    WHEN 'pending' THEN 1 WHEN 'failed' THEN 2 WHEN 'canceled' THEN 2 WHEN 'cancelled' THEN 2
    WHEN 'rejected' THEN 2 ELSE 3 END"""
# The engine's rules in SQL (tolerance 0, drift 1): the settlement window; split bookings (several lines of
# one reference that are not identical copies, or that sum to the record while one copy would not); the
# earliest line of a reference compared and other identical lines duplicates; split tenders (unbooked,
# non-failed records of an order under the order's earliest unexplained entry, in one currency); outcomes by
# precedence; ledger entries nothing explains; one finding per split tender whose sum is off.
DUCKDB_CLASSIFICATION = f"""
WITH p AS (SELECT *, {_STATUS} AS st FROM processor WHERE abs(business_date - $day) <= 1),
     l0 AS (SELECT *, {_STATUS} AS st FROM ledger WHERE abs(business_date - $day) <= 1),
     multi AS (SELECT processor_reference, sum(amount_minor) AS total, min(amount_minor) AS lo,
                      max(amount_minor) AS hi, min(currency) = max(currency) AS one_currency, min(currency) AS currency
               FROM l0 GROUP BY processor_reference HAVING count(*) > 1),
     splits AS (SELECT m.* FROM multi m JOIN p ON p.processor_txn_id = m.processor_reference
                WHERE m.lo <> m.hi OR (m.one_currency AND m.currency = p.currency AND m.total = p.amount_minor
                                       AND m.lo <> p.amount_minor)),
     l AS (SELECT l0.*, s.processor_reference IS NOT NULL AS split_line,
                  row_number() OVER w AS copy_no, first_value(ledger_id) OVER w AS primary_id
           FROM l0 LEFT JOIN splits s USING (processor_reference)
           WINDOW w AS (PARTITION BY l0.processor_reference ORDER BY booked_at, ledger_id)),
     primary_l AS (SELECT * FROM l WHERE copy_no = 1),
     joined AS (SELECT p.*, l.ledger_id, l.currency AS l_currency, l.amount_minor AS l_amount, l.st AS l_st,
                       s.total, s.one_currency
                FROM p LEFT JOIN primary_l l ON l.processor_reference = p.processor_txn_id
                       LEFT JOIN splits s ON s.processor_reference = p.processor_txn_id),
     anchors AS (SELECT l.* FROM primary_l l ANTI JOIN p ON p.processor_txn_id = l.processor_reference
                 WHERE l.order_reference IS NOT NULL AND NOT l.split_line
                 QUALIFY row_number() OVER (PARTITION BY order_reference ORDER BY booked_at, ledger_id) = 1),
     members AS (SELECT j.processor_txn_id, j.amount_minor, j.currency, a.ledger_id AS anchor_id,
                        a.amount_minor AS anchor_amount, a.currency AS anchor_currency, a.business_date AS anchor_date
                 FROM joined j JOIN anchors a ON a.order_reference = j.order_reference
                 WHERE j.ledger_id IS NULL AND j.st <> 2 AND abs(j.business_date - a.business_date) <= 1),
     tenders AS (SELECT anchor_id, any_value(anchor_date) AS anchor_date, sum(amount_minor) AS total,
                        any_value(anchor_amount) AS anchor_amount
                 FROM members GROUP BY anchor_id
                 HAVING min(currency) = max(currency) AND min(currency) = any_value(anchor_currency)),
     grouped AS (SELECT m.processor_txn_id, t.anchor_id, t.total = t.anchor_amount AS ok
                 FROM members m JOIN tenders t USING (anchor_id))
SELECT j.processor_txn_id, CASE
         WHEN g.anchor_id IS NOT NULL THEN CASE WHEN g.ok THEN 'matched_group' ELSE 'group_amount_mismatch' END
         WHEN j.ledger_id IS NULL AND j.st = 2 THEN 'not_booked_failed'
         WHEN j.ledger_id IS NULL THEN 'missing_in_ledger'
         WHEN j.currency <> j.l_currency OR (j.total IS NOT NULL AND NOT j.one_currency) THEN 'currency_mismatch'
         WHEN j.total IS NOT NULL AND j.amount_minor <> j.total THEN 'group_amount_mismatch'
         WHEN j.total IS NULL AND j.amount_minor <> j.l_amount THEN 'amount_mismatch'
         WHEN j.st <> j.l_st THEN 'status_mismatch'
         WHEN j.total IS NOT NULL THEN 'matched_group' ELSE 'matched' END AS outcome,
       coalesce(g.anchor_id, j.ledger_id) AS ledger_id
FROM joined j LEFT JOIN grouped g USING (processor_txn_id)
WHERE j.business_date = $day
UNION ALL
SELECT processor_reference, 'missing_at_processor', ledger_id
FROM primary_l l ANTI JOIN p ON p.processor_txn_id = l.processor_reference
WHERE l.business_date = $day AND NOT l.split_line AND l.ledger_id NOT IN (SELECT anchor_id FROM tenders)
UNION ALL
SELECT processor_reference, 'duplicate', ledger_id FROM l WHERE copy_no > 1 AND NOT split_line AND business_date = $day
UNION ALL
SELECT NULL, 'group_amount_mismatch', anchor_id FROM tenders WHERE total <> anchor_amount AND anchor_date = $day
"""


def frames(rows: int, group_share: float, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """A day of ``rows`` processor records and their ledger entries, with planted faults, and ``group_share``
    of the records in groups: half paying orders of 2-4 charges booked once (split tenders, one in ten
    booked for a different total), half booked as three lines (split bookings, one in ten lines off)."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("ch_", np.arange(rows).astype(str)).astype(object)
    processor = pd.DataFrame(
        {
            "processor_txn_id": ids,
            "business_date": np.full(rows, np.datetime64(DAY)),
            "amount_minor": rng.integers(100, 10_000_000, rows),
            "currency": rng.choice(["USD", "EUR", "JPY", "KWD"], rows).astype(object),
            "status": rng.choice(["succeeded", "failed", "pending"], rows, p=[0.96, 0.03, 0.01]).astype(object),
            "order_reference": None,
        }
    )
    chosen = rng.permutation(rows)
    faults, grouped = chosen[: rows // 20], chosen[rows // 20 : rows // 20 + int(rows * group_share)]
    tenders, bookings = np.sort(grouped[: len(grouped) // 2]), np.sort(grouped[len(grouped) // 2 :])
    # a split tender's charges: one currency, succeeded, sharing the order; sizes 2, 3, 4, 2, 3, 4, ...
    sizes = np.resize([2, 3, 4], len(tenders))
    order_of = np.repeat(np.arange(len(sizes)), sizes)[: len(tenders)]
    first = np.r_[0, np.cumsum(sizes)][order_of]
    processor.loc[tenders, "currency"] = processor["currency"].to_numpy()[tenders[np.minimum(first, len(tenders) - 1)]]
    processor.loc[tenders, "status"] = "succeeded"
    processor.loc[tenders, "order_reference"] = np.char.add("ord_", order_of.astype(str)).astype(object)

    ledger = processor.rename(columns={"processor_txn_id": "processor_reference"}).copy()
    ledger["order_reference"] = None
    ledger["ledger_id"] = np.char.add("led_", np.arange(rows).astype(str)).astype(object)
    ledger["booked_at"] = pd.Timestamp(DAY, tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    ledger.loc[faults[: rows // 100], "amount_minor"] += 1
    ledger.loc[faults[rows // 100 : rows // 50], "processor_reference"] = "ghost_" + pd.Series(
        np.arange(rows // 100).astype(str)
    ).to_numpy(dtype=object)
    copies = ledger.loc[faults[rows // 50 : rows // 40]].assign(
        ledger_id=lambda f: f["ledger_id"] + "_copy", booked_at=lambda f: f["booked_at"] + pd.Timedelta(minutes=7)
    )  # identical copies of a booking: duplicates
    orders = (
        processor.loc[tenders].groupby("order_reference", sort=False)
        .agg(amount_minor=("amount_minor", "sum"), currency=("currency", "first"), status=("status", "first"),
             business_date=("business_date", "first"))
        .reset_index()
    )  # fmt: skip
    orders["amount_minor"] += np.where(np.arange(len(orders)) % 10 == 0, 1, 0)
    orders = orders.assign(processor_reference=orders["order_reference"], ledger_id="led_" + orders["order_reference"],
                           booked_at=pd.Timestamp(DAY, tz="UTC") + pd.Timedelta(hours=12))  # fmt: skip
    whole = ledger.loc[bookings]
    lines = [
        whole.assign(
            amount_minor=part,
            ledger_id=whole["ledger_id"] + f"_{i}",
            booked_at=whole["booked_at"] + pd.Timedelta(seconds=i),
        )  # fmt: skip
        for i, part in enumerate(_three_parts(whole["amount_minor"].to_numpy()))
    ]
    lines[2].loc[lines[2].index[::10], "amount_minor"] += 1
    ledger = pd.concat([ledger.drop(index=np.r_[tenders, bookings]), copies, orders, *lines], ignore_index=True)
    return as_table(processor, PROCESSOR_SCHEMA), as_table(ledger, LEDGER_SCHEMA)


def _three_parts(amounts: np.ndarray) -> list[np.ndarray]:
    """Revenue, tax and tip lines of each amount: distinct parts that sum to it."""
    tax, tip = amounts // 10, amounts // 20
    return [amounts - tax - tip, tax, tip]


def best_of(repeat: int, work) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--group-share", type=float, default=0.10, help="share of the records in groups")
    args = parser.parse_args()
    processor, ledger = frames(args.rows, args.group_share)

    ours, result = best_of(args.repeat, lambda: reconcile(processor, ledger, DAY))
    with duckdb.connect() as con:
        con.register("processor", processor)
        con.register("ledger", ledger)
        (threads,) = con.sql("SELECT current_setting('threads')").fetchall()[0]
        theirs, rows = best_of(
            args.repeat, lambda: con.sql(DUCKDB_CLASSIFICATION, params={"day": DAY}).to_arrow_table()
        )

    found = result.discrepancies
    tender_findings = int(
        ((found["discrepancy_type"] == "group_amount_mismatch") & found["processor_txn_id"].isna()).sum()
    )
    expected = (
        Counter(result.outcomes["outcome"].to_pylist())
        + Counter({k: v for k, v in result.discrepancy_counts().items() if k in ("missing_at_processor", "duplicate")})
        + Counter({"group_amount_mismatch": tender_findings})
    )
    expected = +expected
    assert Counter(rows["outcome"].to_pylist()) == expected, (Counter(rows["outcome"].to_pylist()), expected)
    print(f"classified: {dict(sorted(expected.items()))}")
    print(
        f"duckdb: {args.rows * 2 / theirs:,.0f} rows/s ({theirs:.3f} s; DuckDB {duckdb.__version__}, {threads} threads)"
    )
    print(f"engine: {args.rows * 2 / ours:,.0f} rows/s ({ours:.3f} s for {args.rows}+{args.rows} rows; "
          f"{theirs / ours:.2f}x DuckDB)")  # fmt: skip


if __name__ == "__main__":
    main()

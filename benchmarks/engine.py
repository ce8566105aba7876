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
# The engine's rules in SQL: the settlement window, the earliest booking of a reference compared and the
# others duplicates, outcomes by precedence, ledger entries no processor record matched.
DUCKDB_CLASSIFICATION = f"""
WITH p AS (SELECT *, {_STATUS} AS st FROM processor WHERE abs(business_date - $day) <= 1),
     l AS (SELECT *, {_STATUS} AS st,
                  row_number() OVER (PARTITION BY processor_reference ORDER BY booked_at, ledger_id) AS copy_no,
                  first_value(ledger_id) OVER (PARTITION BY processor_reference ORDER BY booked_at, ledger_id)
                      AS primary_id
           FROM ledger WHERE abs(business_date - $day) <= 1),
     primary_l AS (SELECT * FROM l WHERE copy_no = 1)
SELECT p.processor_txn_id, CASE
         WHEN l.ledger_id IS NULL AND p.st = 2 THEN 'not_booked_failed'
         WHEN l.ledger_id IS NULL THEN 'missing_in_ledger'
         WHEN p.currency <> l.currency THEN 'currency_mismatch'
         WHEN p.amount_minor <> l.amount_minor THEN 'amount_mismatch'
         WHEN p.st <> l.st THEN 'status_mismatch' ELSE 'matched' END AS outcome,
       l.ledger_id, NULL AS related_ledger_id
FROM p LEFT JOIN primary_l l ON l.processor_reference = p.processor_txn_id
WHERE p.business_date = $day
UNION ALL
SELECT processor_reference, 'missing_at_processor', ledger_id, NULL
FROM primary_l l ANTI JOIN p ON p.processor_txn_id = l.processor_reference WHERE l.business_date = $day
UNION ALL
SELECT processor_reference, 'duplicate', ledger_id, primary_id FROM l WHERE copy_no > 1 AND business_date = $day
"""


def frames(rows: int, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """A day of ``rows`` processor records and their ledger entries, with planted faults."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("ch_", np.arange(rows).astype(str)).astype(object)
    processor = pd.DataFrame(
        {
            "processor_txn_id": ids,
            "business_date": np.full(rows, np.datetime64(DAY)),
            "amount_minor": rng.integers(1, 10_000_000, rows),
            "currency": rng.choice(["USD", "EUR", "JPY", "KWD"], rows).astype(object),
            "status": rng.choice(["succeeded", "failed", "pending"], rows, p=[0.96, 0.03, 0.01]).astype(object),
        }
    )
    ledger = processor.rename(columns={"processor_txn_id": "processor_reference"}).copy()
    ledger["ledger_id"] = np.char.add("led_", np.arange(rows).astype(str)).astype(object)
    ledger["booked_at"] = pd.Timestamp(DAY, tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    faults = rng.choice(rows, rows // 20, replace=False)
    ledger.loc[faults[: rows // 100], "amount_minor"] += 1
    ledger.loc[faults[rows // 100 : rows // 50], "processor_reference"] = "ghost_" + pd.Series(
        np.arange(rows // 100).astype(str)
    ).to_numpy(dtype=object)
    ledger.loc[faults[rows // 50 : rows // 40], "processor_reference"] = ids[faults[: rows // 200]]
    return as_table(processor, PROCESSOR_SCHEMA), as_table(ledger, LEDGER_SCHEMA)


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
    args = parser.parse_args()
    processor, ledger = frames(args.rows)

    ours, result = best_of(args.repeat, lambda: reconcile(processor, ledger, DAY))
    with duckdb.connect() as con:
        con.register("processor", processor)
        con.register("ledger", ledger)
        (threads,) = con.sql("SELECT current_setting('threads')").fetchall()[0]
        theirs, rows = best_of(
            args.repeat, lambda: con.sql(DUCKDB_CLASSIFICATION, params={"day": DAY}).to_arrow_table()
        )

    expected = Counter(result.outcomes["outcome"].to_pylist()) + Counter(
        {k: v for k, v in result.discrepancy_counts().items() if k in ("missing_at_processor", "duplicate")}
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

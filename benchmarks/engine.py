"""Reconcile N processor records against N ledger entries in the pure engine; print the throughput.

python benchmarks/engine.py --rows 1000000
"""

import argparse
import time
from datetime import date

import numpy as np
import pandas as pd

from recon_assets.domain.matching import reconcile

DAY = date(2026, 1, 2)


def frames(rows: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    return processor, ledger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    processor, ledger = frames(args.rows)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = reconcile(processor, ledger, DAY)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    print(f"discrepancies: {result.discrepancy_counts()}")
    try:
        import duckdb

        started = time.perf_counter()
        duckdb.sql(
            "SELECT count(*) FROM processor p LEFT JOIN ledger l ON l.processor_reference = p.processor_txn_id"
        ).fetchall()
        print(f"duckdb join ceiling: {time.perf_counter() - started:.3f} s")
    except ImportError:
        pass
    print(f"engine: {args.rows * 2 / best:,.0f} rows/s ({best:.3f} s for {args.rows}+{args.rows} rows)")


if __name__ == "__main__":
    main()

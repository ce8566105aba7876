"""What a backfill takes on the deployed platform: each API's pages under its rate limit, the measured
compute per day, the API pools and ``max_concurrent_runs``; prints a line per API and the total.

python benchmarks/backfill.py --transactions 1000000 [--days 365]

The model: every day of every processor is one run (one ECS task, ``dagster.prod.yaml``). A pool lets one
landing step at a time call its API, and the client paces its requests to the API's limit, so each API's
days are landed one after the other, each taking the longer of its requests under the limit and its own
compute. Reconciling and reporting a day hold no pool: up to ``max_concurrent_runs`` run at once. The
backfill takes as long as its busiest pool, or the reconciliation, whichever is longer. The compute per
million records defaults to ``benchmarks/day.py``'s stages on a 2-core machine; pass what you measure.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import yaml

from recon_assets.processors.registry import LEDGER, PROCESSORS, SourceSpec

PRODUCTION_INSTANCE = Path(__file__).parents[1] / "deployment" / "dagster.prod.yaml"


def api_seconds(spec: SourceSpec, records: int) -> tuple[int, float | None]:
    """Requests for a day of ``records``, and the seconds they take at the API's rate (None: no limit)."""
    pages = math.ceil(records / spec.client_class.records_per_page)
    return pages, (pages / spec.requests_per_second if spec.requests_per_second else None)


def hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1_000_000, help="processor records per day, each")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--land-seconds", type=float, default=18.0, help="landing compute per million records")
    parser.add_argument("--ledger-seconds", type=float, default=10.0, help="ledger landing per million entries")
    parser.add_argument("--reconcile-seconds", type=float, default=11.0,
                        help="reconcile, summarise and report per million records")  # fmt: skip
    args = parser.parse_args()

    instance = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    max_runs = instance["concurrency"]["runs"]["max_concurrent_runs"]
    pool_limit = instance["concurrency"]["pools"]["default_limit"]
    millions = args.transactions / 1_000_000
    busiest: dict[str, float] = {}
    for spec in PROCESSORS.values():
        pages, limited = api_seconds(spec, args.transactions)
        day = max(limited or 0.0, args.land_seconds * millions)
        busiest[spec.pool] = args.days * day / pool_limit
        print(f"{spec.name:>9}: {pages:,} requests a day at {spec.requests_per_second:g}/s = {limited:,.0f} s; "
              f"landing {day:,.0f} s a day; {args.days} days in {hours(busiest[spec.pool])} ({spec.pool})")  # fmt: skip
    entries = args.transactions * len(PROCESSORS)  # the ledger books every processor's movements
    pages, _ = api_seconds(LEDGER, entries)
    ledger_day = args.ledger_seconds * entries / 1_000_000
    busiest[LEDGER.pool] = args.days * ledger_day / pool_limit
    print(f"{LEDGER.name:>9}: {pages:,} requests a day, no rate limit (our own API); landing {ledger_day:,.0f} s "
          f"a day; {args.days} days in {hours(busiest[LEDGER.pool])} ({LEDGER.pool})")  # fmt: skip
    runs = args.days * len(PROCESSORS)
    reconcile = runs * args.reconcile_seconds * millions / max_runs
    print(f"reconcile: {runs:,} processor days, {args.reconcile_seconds * millions:,.0f} s each, "
          f"{max_runs} runs at once: {hours(reconcile)}")  # fmt: skip
    bound, longest = max(busiest.items(), key=lambda item: item[1])
    total, by = (longest, f"the {bound} pool") if longest >= reconcile else (reconcile, "reconciliation")
    print(f"backfill: {runs:,} runs in about {hours(total)} ({total / 86400:,.1f} days), bound by {by}; "
          f"max_concurrent_runs {max_runs}, pools of {pool_limit}")  # fmt: skip


if __name__ == "__main__":
    main()

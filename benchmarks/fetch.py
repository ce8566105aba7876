"""Fetch one large sandbox day over loopback, serial and concurrent, with latency per page; print throughput.

python benchmarks/fetch.py --transactions 200000 --latency-ms 50 --processor stripe
"""

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date

import requests

from recon_assets.processors.http import HttpClient, RetryPolicy
from recon_assets.processors.registry import PROCESSORS
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS as C
from recon_assets.sandbox.world import SandboxConfig, processor_records

DAY = date(2026, 1, 2)


@contextlib.contextmanager
def sandbox_process(daily_volume: int, latency_ms: float) -> Iterator[str]:
    """``recon sandbox serve`` in its own process, so the server does not share the client's interpreter."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "recon_assets.cli", "sandbox", "serve", "--port", str(port),
               "--daily-volume", str(daily_volume), "--latency-ms", str(latency_ms)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{url}/_sandbox/truth", timeout=1)  # 400 without parameters: it is up
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--processor", choices=sorted(PROCESSORS), default="stripe")
    parser.add_argument("--concurrent", default="16x8", help="time windows x workers for the concurrent fetch")
    args = parser.parse_args()

    base = SandboxConfig()
    config = SandboxConfig(daily_volume=round(args.transactions / (1 + base.refund_rate)))
    started = time.perf_counter()
    expected = len(processor_records(config, args.processor, DAY))
    print(
        f"sandbox: {expected:,} {args.processor} records for {DAY} generated in {time.perf_counter() - started:.1f} s"
    )
    windows, workers = (int(n) for n in args.concurrent.split("x"))
    with sandbox_process(config.daily_volume, args.latency_ms) as url:
        runs = (("serial", 1, 1), (f"concurrent {windows}x{workers}", windows, workers))
        for label, run_windows, run_workers in runs:
            paging = {"windows": run_windows, "workers": run_workers}
            http = HttpClient(args.processor, url, RetryPolicy())
            client = PROCESSORS[args.processor].client_class(http, *C[args.processor], **paging)
            started = time.perf_counter()
            with client.fetch_day(DAY) as result:
                fetched = sum(len(batch.records) for batch in result.batches)
            seconds = time.perf_counter() - started
            assert fetched == expected, (fetched, expected)
            print(f"{label:>16}: {fetched:,} records, {result.stats.pages:,} pages in {seconds:.1f} s "
                  f"= {fetched / seconds:,.0f} records/s ({args.latency_ms:.0f} ms per page)")  # fmt: skip


if __name__ == "__main__":
    main()

"""What every source client shares: time windows, concurrent paging, de-duplication, validation."""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, ClassVar

from pydantic import ValidationError

from recon_assets.domain.money import MoneyError
from recon_assets.domain.records import QuarantinedRecord
from recon_assets.processors.http import FetchStats, HttpClient

PageStream = Callable[[], Iterator[list[dict[str, Any]]]]


class SkipRecord(Exception):
    """A source record that is not a money movement we reconcile (e.g. a PayPal fee or transfer)."""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, dtime.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_windows(day: date, count: int) -> list[tuple[datetime, datetime]]:
    """Split the UTC day into ``count`` equal, contiguous, non-overlapping windows."""
    start, end = day_bounds(day)
    step = (end - start) / max(1, count)
    edges = [start + step * i for i in range(count)] + [end]
    return list(zip(edges[:-1], edges[1:], strict=True))


@dataclass
class FetchResult:
    """A day's records as batches, streamed; statistics are final once the batches are consumed."""

    batches: Iterator[list[Any]]
    quarantine: list[QuarantinedRecord] = field(default_factory=list)
    stats: FetchStats = field(default_factory=FetchStats)


class SourceClient(ABC):
    """A paged source of one business day's records."""

    name: ClassVar[str]
    record_model: ClassVar[type]  # the canonical model produced by ``parse``

    def __init__(self, http: HttpClient, windows: int = 1, workers: int = 1):
        self.http = http
        self.windows = max(1, windows)
        self.workers = max(1, workers)

    @abstractmethod
    def streams(self, day: date) -> list[PageStream]:
        """Independent page streams that together cover the day (run concurrently)."""

    @abstractmethod
    def parse(self, raw: dict[str, Any]) -> Any:
        """Validate one raw record and return the canonical model (or raise SkipRecord)."""

    def dedup_key(self, raw: dict[str, Any]) -> Hashable:
        return raw.get("id")

    def record_id(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value is not None else None

    def fetch_day(self, day: date) -> FetchResult:
        stats = self.http.stats
        result = FetchResult(batches=iter(()), stats=stats)
        result.batches = self._batches(day, result)
        return result

    def _batches(self, day: date, result: FetchResult) -> Iterator[list[Any]]:
        stats, seen = result.stats, set()
        started = time.perf_counter()
        try:
            for page in _run_concurrently(self.streams(day), self.workers):
                stats.add(pages=1)
                batch = []
                for raw in page:
                    key = self.dedup_key(raw)
                    if key in seen:
                        stats.add(duplicates_dropped=1)
                        continue
                    seen.add(key)
                    try:
                        record = self.parse(raw)
                    except SkipRecord:
                        stats.add(skipped_non_payment=1)
                        continue
                    except (ValidationError, MoneyError, ValueError, KeyError, TypeError) as exc:
                        result.quarantine.append(
                            QuarantinedRecord(
                                source=self.name, record_id=self.record_id(raw), reason=_reason(exc), raw=raw
                            )
                        )
                        stats.add(quarantined=1)
                        continue
                    if record.business_date != day:
                        stats.add(outside_day_dropped=1)
                        continue
                    batch.append(record)
                stats.add(records=len(batch))
                if batch:
                    yield batch
        finally:
            stats.add(seconds=time.perf_counter() - started)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


_DONE = object()


def _run_concurrently(streams: list[PageStream], workers: int) -> Iterator[list[dict[str, Any]]]:
    """Pages from all streams as they arrive, with at most ``workers`` streams running at once.

    A bounded queue keeps memory flat; the first error stops the other streams and is raised here.
    """
    if workers == 1 or len(streams) == 1:
        for stream in streams:
            yield from stream()
        return
    pages: queue.Queue = queue.Queue(maxsize=workers * 4)
    stop = threading.Event()

    def run(stream: PageStream) -> None:
        try:
            for page in stream():
                if stop.is_set():
                    return
                pages.put(page)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            pages.put(exc)
        finally:
            pages.put(_DONE)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        for stream in streams:
            pool.submit(run, stream)
        remaining = len(streams)
        try:
            while remaining:
                item = pages.get()
                if item is _DONE:
                    remaining -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()
            while remaining:  # drain so blocked producers can finish
                try:
                    if pages.get(timeout=0.1) is _DONE:
                        remaining -= 1
                except queue.Empty:
                    continue

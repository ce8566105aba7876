"""What every source client shares: time windows, concurrent paging, de-duplication, validation.

A day is fetched as several independent page streams (time windows, locations, endpoints) run by a few
worker threads. The first stream that fails for good cancels the others at once, and closing a fetch,
whether it finished or not, always stops every worker: no thread outlives the fetch that started it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, ClassVar

from pydantic import ValidationError

from recon_assets.domain.money import MoneyError
from recon_assets.domain.records import QuarantinedRecord
from recon_assets.processors.http import ApiError, FetchStats, HttpClient

PageStream = Callable[[], Iterator[list[Any]]]


class SkipRecord(Exception):
    """A source record that is not a money movement we reconcile (e.g. a PayPal fee or transfer)."""


class BrokenEnvelope(ApiError):
    """A response whose envelope is not what the API documents: the page cannot be read at all."""


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
    """A day's records as batches, streamed; the rest is final once the batches are consumed.

    ``conflicting_ids`` are ids that arrived in versions with different contents: every version after
    the first is already in ``quarantine``; the first may have been streamed out in a batch, and the
    caller moves it to the quarantine too.
    """

    batches: Iterator[list[Any]]
    quarantine: list[QuarantinedRecord] = field(default_factory=list)
    conflicting_ids: set[str] = field(default_factory=set)
    stats: FetchStats = field(default_factory=FetchStats)


CONFLICT_REASON = "conflicting versions: the source sent this id more than once with different contents"


class SourceClient(ABC):
    """A paged source of one business day's records. ``key`` is the API key, token or client id;
    ``secret`` the client secret, for the APIs that have one."""

    name: ClassVar[str]

    def __init__(self, http: HttpClient, key: str, secret: str | None = None, *, windows: int = 1, workers: int = 1):
        self.http = http
        self.key, self.secret = key, secret
        self.windows = max(1, windows)
        self.workers = max(1, workers)

    @abstractmethod
    def streams(self, day: date) -> list[PageStream]:
        """Independent page streams that together cover the day (run concurrently)."""

    @abstractmethod
    def parse(self, raw: dict[str, Any]) -> Any:
        """Validate one raw record and return the canonical model (or raise SkipRecord)."""

    def identity(self, raw: dict[str, Any]) -> Hashable:
        """What makes two records the same record (a repeat rather than a new one)."""
        return raw.get("id")

    def record_id(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value is not None else None

    def page_items(self, body: Any, key: str, path: str, page: int, *, optional: bool = False) -> list[Any]:
        """The records of one page; a page whose envelope lacks them fails the fetch with one line.

        ``optional``: the API leaves the list out of an empty page (Square answers ``{}``).
        """
        if isinstance(body, dict) and key not in body and optional:
            return []
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            found = f"keys {sorted(body)[:8]}" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
            raise BrokenEnvelope(self.name, path, 200, f"page {page} has no '{key}' list ({found})")
        return items

    @contextlib.contextmanager
    def fetch_day(self, day: date) -> Iterator[FetchResult]:
        """The day's records, streamed in batches while the caller consumes them; leaving the block stops
        every worker, also when the caller failed half-way."""
        self.http.cancelled.clear()
        pages = _concurrent_pages(self.streams(day), self.workers, self.http.cancelled)
        result = FetchResult(batches=iter(()), stats=self.http.stats)
        result.batches = self._batches(day, pages, result)
        try:
            yield result
        finally:
            self.http.cancelled.set()
            result.batches.close()
            pages.close()

    def _batches(self, day: date, pages: Iterator[list[Any]], result: FetchResult) -> Iterator[list[Any]]:
        stats = result.stats
        versions: dict[Hashable, bytes] = {}  # identity -> digest of the first version seen
        started = time.perf_counter()
        try:
            for page in pages:
                stats.add(pages=1)
                batch = []
                for raw in page:
                    record = self._accept(raw, day, versions, result)
                    if record is not None:
                        batch.append(record)
                stats.add(records=len(batch))
                if batch:
                    yield batch
        finally:
            stats.add(seconds=time.perf_counter() - started)

    def _accept(self, raw: Any, day: date, versions: dict[Hashable, bytes], result: FetchResult) -> Any:
        """The canonical record for ``raw``, or None when it is a repeat, skipped, quarantined or of another day."""
        stats = result.stats
        if not isinstance(raw, dict):
            self._quarantine(result, None, f"not a JSON object but a JSON {type(raw).__name__}", raw)
            return None
        key = self.identity(raw)
        if key is not None:  # a record without an id is quarantined by ``parse`` with its reason
            digest, first = _digest(raw), versions.get(key)
            if first is None:
                versions[key] = digest
            elif first == digest:
                stats.add(duplicates_dropped=1)
                return None
            else:
                result.conflicting_ids.add(self.record_id(raw))
                self._quarantine(result, self.record_id(raw), CONFLICT_REASON, raw)
                return None
        try:
            record = self.parse(raw)
        except SkipRecord:
            stats.add(skipped_non_payment=1)
            return None
        except (ValidationError, MoneyError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self._quarantine(result, self.record_id(raw), _reason(exc), raw)
            return None
        if record.business_date != day:
            stats.add(outside_day_dropped=1)
            return None
        return record

    def _quarantine(self, result: FetchResult, record_id: str | None, reason: str, raw: Any) -> None:
        result.quarantine.append(QuarantinedRecord(source=self.name, record_id=record_id, reason=reason, raw=raw))
        result.stats.add(quarantined=1)


def _digest(raw: dict[str, Any]) -> bytes:
    return hashlib.blake2b(json.dumps(raw, sort_keys=True, default=str).encode(), digest_size=16).digest()


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


_DONE = object()


def _concurrent_pages(streams: list[PageStream], workers: int, cancelled: threading.Event) -> Iterator[list[Any]]:
    """Pages from all streams as they arrive, with at most ``workers`` streams running at once.

    A bounded queue keeps memory flat. The first error is raised here and cancels the other streams;
    closing this generator cancels them too. Workers are daemon threads that give up waiting on the
    queue once cancelled, so none can keep the process alive.
    """
    if workers == 1 or len(streams) == 1:
        for stream in streams:
            yield from stream()
        return
    pages: queue.Queue = queue.Queue(maxsize=workers * 4)
    todo = iter(streams)
    todo_lock = threading.Lock()

    def put(item: Any) -> bool:
        while not cancelled.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            while not cancelled.is_set():
                with todo_lock:
                    stream = next(todo, None)
                if stream is None:
                    return
                for page in stream():
                    if not put(page):
                        return
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)
        finally:
            put(_DONE)

    count = min(workers, len(streams))
    for n in range(count):
        threading.Thread(target=work, name=f"fetch-{n}", daemon=True).start()
    remaining = count
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
        cancelled.set()

"""What every source client shares: time windows, concurrent paging, de-duplication, validation.

A day is fetched as several independent page streams (time windows, locations, endpoints) run by a few
worker threads. The first stream that fails for good cancels the others at once, and closing a fetch,
whether it finished or not, always stops every worker: no thread outlives the fetch that started it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, ClassVar, TypeVar

import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import zstandard
from pydantic import BaseModel, TypeAdapter, ValidationError

from recon_assets.domain.records import PROCESSOR_RECORD, Canonical, QuarantinedRecord, RecordLayout
from recon_assets.domain.settlement import BalanceHold, Payout, PayoutItem
from recon_assets.processors.fast import FastReader, Refused
from recon_assets.processors.http import ApiError, FetchStats, HttpClient

PageStream = Callable[[], Iterator["Page"]]
ModelT = TypeVar("ModelT", bound=BaseModel)


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


@dataclass(frozen=True)
class PageFormat:
    """How one endpoint's response pages are read: where the records are, and their wire models.

    Three readings, fastest first: msgspec over the whole page (derived from the models); pydantic over
    the whole page (it coerces what msgspec will not); pydantic record by record, so that only the
    records at fault are refused, each with its reason."""

    list_key: str
    page_model: type[BaseModel]
    record_model: type[BaseModel]
    optional: bool = False  # an empty page may leave the list out (Square answers {})
    fast: FastReader = field(init=False, repr=False)
    page: TypeAdapter = field(init=False, repr=False)
    record: TypeAdapter = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fast", FastReader(self.page_model))
        object.__setattr__(self, "page", TypeAdapter(self.page_model))
        object.__setattr__(self, "record", TypeAdapter(self.record_model))


@dataclass
class Page:
    """One response as received, and the records it holds."""

    endpoint: str
    list_key: str
    body: bytes
    records: list[tuple[int, Any]]  # (position in the page's list, the record as its wire model)
    rejected: list[tuple[int, Any, str]]  # (position, the item as received, why it was refused)
    envelope: Any  # the page's own fields: the validated page model, or the decoded body
    stored: bytes = b""  # the body zstd-compressed, as the warehouse keeps it (made by the worker that read it)

    def field(self, name: str, default: Any = None) -> Any:
        """One of the page's own fields (a cursor, has_more), however the page was read."""
        if isinstance(self.envelope, dict):
            return self.envelope.get(name, default)
        return getattr(self.envelope, name, default)

    def item(self, position: int) -> Any:
        """The record at ``position`` exactly as the source sent it (for the quarantine)."""
        return orjson.loads(self.body)[self.list_key][position]


@dataclass
class Batch:
    """A few pages as they arrived, and the canonical records of the day they gave: a table of the source's
    layout followed by each record's page number and its position in that page."""

    pages: list[tuple[int, Page]]  # (page number, page)
    records: pa.Table


@dataclass
class FetchResult:
    """A day's pages as they arrive, streamed; the rest is final once the pages are consumed.

    ``conflicting_ids`` are ids that arrived in versions with different contents: every version after
    the first is already in ``quarantine``; the first may have been streamed out, and the caller moves
    it to the quarantine too.
    """

    batches: Iterator[Batch]
    quarantine: list[QuarantinedRecord] = field(default_factory=list)
    conflicting_ids: set[str] = field(default_factory=set)
    stats: FetchStats = field(default_factory=FetchStats)


CONFLICT_REASON = "conflicting versions: the source sent this id more than once with different contents"
PAGES_PER_BATCH = 50  # pages made canonical together: column work amortised, memory still flat


class SourceClient(ABC):
    """A paged source of one business day's records. ``key`` is the API key, token or client id;
    ``secret`` the client secret, for the APIs that have one."""

    name: ClassVar[str]
    layout: ClassVar[RecordLayout] = PROCESSOR_RECORD
    records_per_page: ClassVar[int]  # the largest page the API serves: fewer requests under its rate limit

    def __init__(self, http: HttpClient, key: str, secret: str | None = None, *, windows: int = 1, workers: int = 1):
        self.http = http
        self.key, self.secret = key, secret
        self.windows = max(1, windows)
        self.workers = max(1, workers)

    @abstractmethod
    def streams(self, day: date) -> list[PageStream]:
        """Independent page streams that together cover the day (run concurrently)."""

    @abstractmethod
    def canonical(self, records: list[Any], endpoint: str) -> Canonical:
        """The canonical records (``layout``) of wire records read from ``endpoint``, column by column, with
        those that move no money we reconcile (skipped) and those that contradict themselves (refused).
        Each record is the endpoint's pydantic model or the struct derived from it: the same attributes."""

    def payouts(self, day: date) -> tuple[list[Payout], list[PayoutItem]]:
        """The payouts arriving on ``day`` and the items each settled (a source that pays nothing out: none)."""
        return [], []

    def holds(self, day: date) -> list[BalanceHold]:
        """The funds held on the balance for disputes on ``day`` and released, outside any payout (a source
        whose holds are payout items, or that holds nothing: none)."""
        return []

    @abstractmethod
    def probe(self) -> str:
        """One cheap authenticated call (``recon doctor``): what it found, in a few words; raises ``ApiError``."""

    def read_whole(self, body: bytes, model: type[ModelT], path: str) -> ModelT:
        """A response read as one model (the cash side's pages: payouts and their items); one that does not
        validate fails the fetch in one line, for a person to look at."""
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise BrokenEnvelope(self.name, path, 200, _reason(exc)) from None

    def record_id(self, raw: dict[str, Any]) -> str | None:
        """The id of a record as received, for the quarantine."""
        value = raw.get("id")
        return str(value) if value is not None else None

    def read_page(self, body: bytes, fmt: PageFormat, path: str, number: int) -> Page:
        """One response page, read in one pass; a page that does not validate as a whole is read record
        by record, so that only the records at fault are refused."""
        stored = _compressor().compress(body)  # in the worker: zstd lets go of the GIL while it works
        for reading, refusal in ((fmt.fast.read, Refused), (fmt.page.validate_json, ValidationError)):
            try:
                page = reading(body)
            except refusal:
                continue
            records = list(enumerate(getattr(page, fmt.list_key) or []))
            return Page(path, fmt.list_key, body, records, [], page, stored)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiError(self.name, path, 200, "response is not valid JSON") from None
        records, rejected = [], []
        for position, item in enumerate(self.page_items(document, fmt.list_key, path, number, optional=fmt.optional)):
            if not isinstance(item, dict):
                rejected.append((position, item, f"not a JSON object but a JSON {type(item).__name__}"))
                continue
            try:
                records.append((position, fmt.record.validate_python(item)))
            except ValidationError as exc:
                rejected.append((position, item, _reason(exc)))
        return Page(path, fmt.list_key, body, records, rejected, document, stored)

    def page_items(self, body: Any, key: str, path: str, page: int, *, optional: bool = False) -> list[Any]:
        """The records of one decoded page; a page whose envelope lacks them fails the fetch in one line."""
        if isinstance(body, dict) and key not in body and optional:
            return []
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            found = f"keys {sorted(body)[:8]}" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
            raise BrokenEnvelope(self.name, path, 200, f"page {page} has no '{key}' list ({found})")
        return items

    @contextlib.contextmanager
    def fetch_day(self, day: date) -> Iterator[FetchResult]:
        """The day's records in batches, streamed while the caller consumes them; leaving the block stops
        every worker, also when the caller failed half-way."""
        self.http.cancelled.clear()
        pages = _concurrent_pages(self.streams(day), self.workers, self.http.cancelled)
        result = FetchResult(batches=iter(()), stats=self.http.stats)
        result.batches = self._batches(day, pages, result)
        try:
            with _collector_paused():
                yield result
        finally:
            self.http.cancelled.set()
            result.batches.close()
            pages.close()

    def _batches(self, day: date, pages: Iterator[Page], result: FetchResult) -> Iterator[Batch]:
        stats = result.stats
        versions: dict[tuple, int] = {}  # identity -> digest of the first version's canonical record
        started = time.perf_counter()
        try:
            for chunk in _chunks(enumerate(pages, start=1), PAGES_PER_BATCH):
                counts = Counter()
                for _, page in chunk:
                    for _, raw, reason in page.rejected:
                        self._quarantine(result, self.record_id(raw) if isinstance(raw, dict) else None, reason, raw)
                tables = [
                    self._accept([(n, page) for n, page in chunk if page.endpoint == endpoint], endpoint, day,
                                 versions, result, counts)
                    for endpoint in dict.fromkeys(page.endpoint for _, page in chunk)
                ]  # fmt: skip
                records = pa.concat_tables(tables)  # a chunk has a page, so an endpoint
                stats.add(pages=len(chunk), records=records.num_rows, **counts)
                yield Batch(chunk, records)
        finally:
            stats.add(seconds=time.perf_counter() - started)

    def _accept(self, pages, endpoint: str, day: date, versions: dict, result: FetchResult, counts: Counter):
        """The canonical records of ``day`` the pages hold, with their page numbers and positions. Left out
        and counted: repeats, records that move no money we reconcile, records of another day; records at
        fault (refused, or a second version contradicting the first) are quarantined."""
        layout = self.layout
        page_numbers = np.array([page_no for page_no, page in pages for _ in page.records], dtype=np.int32)
        positions = np.array([position for _, page in pages for position, _ in page.records], dtype=np.int32)
        by_page = dict(pages)
        made = self.canonical([record for _, page in pages for _, record in page.records], endpoint)
        if made.origins is not None:
            page_numbers, positions = page_numbers[made.origins], positions[made.origins]
        table = layout.table(made.columns)
        ids, kinds = made.columns[layout.id_field], table["kind"].to_pylist()  # plain text: hashed fast
        kept = np.ones(table.num_rows, dtype=bool)
        for index, reason in made.refused.items():
            self._quarantine(result, ids[index], reason, by_page[int(page_numbers[index])].item(int(positions[index])))
            kept[index] = False
        if made.skipped is not None:
            counts["skipped_non_payment"] += int((made.skipped & kept).sum())
            kept &= ~made.skipped
        digests = pl.from_arrow(table).hash_rows(seed=0).to_list()  # a record's contents, to tell versions apart
        start, end = (np.datetime64(edge.replace(tzinfo=None), "us") for edge in day_bounds(day))
        times = table[layout.time_field].to_numpy().astype("datetime64[us]")
        in_day = ((times >= start) & (times < end)).tolist()
        accepted = np.zeros(table.num_rows, dtype=bool)
        setdefault = versions.setdefault
        for index in np.flatnonzero(kept).tolist():
            key, digest, known = (ids[index], kinds[index]), digests[index], len(versions)
            if setdefault(key, digest) != digest:
                result.conflicting_ids.add(key[0])
                page = by_page[int(page_numbers[index])]
                self._quarantine(result, key[0], CONFLICT_REASON, page.item(int(positions[index])))
            elif len(versions) == known:
                counts["duplicates_dropped"] += 1
            elif not in_day[index]:
                counts["outside_day_dropped"] += 1
            else:
                accepted[index] = True
        table = table.append_column("page_no", pa.array(page_numbers)).append_column("page_index", pa.array(positions))
        return table.filter(pa.array(accepted))

    def _quarantine(self, result: FetchResult, record_id: str | None, reason: str, raw: Any) -> None:
        result.quarantine.append(QuarantinedRecord(source=self.name, record_id=record_id, reason=reason, raw=raw))
        result.stats.add(quarantined=1)


_local = threading.local()
_pauses = {"count": 0, "was_enabled": False}
_pauses_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a day streams through: a fetch makes millions of small
    objects, none in a reference cycle (reference counting frees them), and each collection would walk
    all of them (it more than doubled the cost of a record). Nested or concurrent fetches share the pause."""
    with _pauses_lock:
        if _pauses["count"] == 0:
            _pauses["was_enabled"] = gc.isenabled()
            gc.disable()
        _pauses["count"] += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses["count"] -= 1
            if _pauses["count"] == 0 and _pauses["was_enabled"]:
                gc.enable()


def _compressor() -> zstandard.ZstdCompressor:
    """One per thread: a compressor must not be shared between threads."""
    if not hasattr(_local, "compressor"):
        _local.compressor = zstandard.ZstdCompressor(level=1)
    return _local.compressor


def _chunks(items, size: int):
    """Lists of ``size`` items (the last may be shorter), taken as they come."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


_DONE = object()


def _concurrent_pages(streams: list[PageStream], workers: int, cancelled: threading.Event) -> Iterator[Page]:
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

"""What every sandbox API shares: the error a handler raises, its credentials' shape, paging tokens, parameter
parsing, and the day's records in their wire format, encoded once."""

from __future__ import annotations

import base64
import bisect
import functools
import importlib
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from recon_assets.sandbox.world import Movement, SandboxConfig, processor_movements

MAX_SPAN_DAYS = 31
# A handler answers a request from its query parameters and headers (and a path's {names}, as keywords)
Handler = Callable[..., Any]
Routes = dict[tuple[str, str], Handler]


class Credentials(NamedTuple):
    key: str  # the API key, token or client id
    secret: str | None = None  # the client secret, for APIs that have one


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def source_module(name: str):
    """The sandbox module of a source: ``recon_assets.sandbox.<name>``, with its ``CREDENTIALS`` and ``routes``."""
    return importlib.import_module(f"recon_assets.sandbox.{name}")


def days(start: datetime, end: datetime) -> list[date]:
    """The days [start, end) touches."""
    if end <= start:
        return []
    return days_between(start.date(), (end - timedelta(microseconds=1)).date())


def days_between(first: date, last: date) -> list[date]:
    """The days from ``first`` to ``last``, both included."""
    if (last - first).days >= MAX_SPAN_DAYS:
        raise HttpError(400, {"error": {"code": "RANGE_TOO_LARGE", "message": "range exceeds 31 days"}})
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def generated_once(maxsize: int):
    """``lru_cache`` under a lock: the many concurrent first requests for a day wait for one generation of
    it instead of each generating it again."""

    def decorate(function):
        cached = functools.lru_cache(maxsize=maxsize)(function)
        lock = threading.Lock()

        @functools.wraps(function)
        def once(*args):
            with lock:
                return cached(*args)

        return once

    return decorate


@generated_once(maxsize=16)
def encoded_day(config: SandboxConfig, processor: str, day: date, compact: bool) -> list[bytes]:
    """Each of the day's movements in its processor's wire format (its module's ``encode``), encoded once (the
    first ``bad_currency_records`` with an invalid currency; PayPal's offsets compact when asked)."""
    encode: Callable[[Movement, str | None, bool], dict] = source_module(processor).encode
    bad = config.bad_currency_records
    return [orjson.dumps(encode(m, "XYZ" if i < bad else None, compact))
            for i, m in enumerate(processor_movements(config, processor, day))]  # fmt: skip


@functools.lru_cache(maxsize=256)
def window(
    config: SandboxConfig,
    processor: str,
    start: datetime,
    end: datetime,
    kind: str | None,
    location: str | None,
    compact: bool = False,
) -> tuple[list[str], list[bytes], dict[str, int]]:
    """Movements created in [start, end), oldest first: their ids, their encoded records, and an index by id."""
    ids: list[str] = []
    records: list[bytes] = []
    for day in days(start, end):
        day_items = processor_movements(config, processor, day)
        encoded = encoded_day(config, processor, day, compact)
        stamps = [m.created for m in day_items]  # sorted: movements are oldest first
        for i in range(bisect.bisect_left(stamps, start), bisect.bisect_left(stamps, end)):
            m = day_items[i]
            if (kind is None or m.kind == kind) and (location is None or m.location_id == location):
                ids.append(m.txn_id)
                records.append(encoded[i])
    return ids, records, {txn_id: i for i, txn_id in enumerate(ids)}


def json_list(records: list[bytes]) -> orjson.Fragment:
    """Records already encoded, as a JSON array to splice into a response."""
    return orjson.Fragment(b"[" + b",".join(records) + b"]")


def token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise HttpError(400, {"error": {"code": "BAD_CURSOR", "message": "invalid cursor"}}) from None


def integer(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} must be an integer"}}) from None
    if not low <= value <= high:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} out of range"}})
    return value


def instant(value: str | None, name: str) -> datetime:
    """An ISO 8601 date-time parameter with its offset, in UTC."""
    if not value:
        raise HttpError(400, {"error": {"code": "MISSING_PARAM", "message": f"{name} is required"}})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} is not a date-time"}}) from None
    if parsed.tzinfo is None:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} needs an offset"}})
    return parsed.astimezone(UTC)

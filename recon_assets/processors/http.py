"""HTTP with timeouts, bounded retries (exponential backoff, full jitter, Retry-After) and statistics."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(RuntimeError):
    """A source API call that failed for good; names the source, the URL path and the status, no secret."""

    def __init__(self, source: str, path: str, status: int | None, reason: str):
        self.source, self.path, self.status = source, path, status
        status_text = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{source} API {path}: {status_text}: {reason}")


class Unauthorized(ApiError):
    """401: the caller may refresh its credentials once and try again."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    budget_seconds: float = 120.0  # total time spent waiting between attempts, per request
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


@dataclass
class FetchStats:
    """Counters shared by the workers of one fetch."""

    pages: int = 0
    requests: int = 0
    retries: int = 0
    records: int = 0
    duplicates_dropped: int = 0
    outside_day_dropped: int = 0
    skipped_non_payment: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def as_metadata(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class HttpClient:
    """A JSON HTTP client for one source. Thread-safe: one requests.Session per thread."""

    def __init__(
        self,
        source: str,
        base_url: str,
        policy: RetryPolicy | None = None,
        stats: FetchStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.stats = stats or FetchStats()
        self._sleep = sleep
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Any:
        policy = self.policy
        waited = 0.0
        for attempt in range(1, policy.max_attempts + 1):
            self.stats.add(requests=1)
            delay = None
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    headers=headers,
                    data=data,
                    auth=auth,
                    timeout=(policy.connect_timeout, policy.read_timeout),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = ApiError(self.source, path, None, type(exc).__name__)
            else:
                status = response.status_code
                if status < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise ApiError(self.source, path, status, "response is not valid JSON") from None
                if status == 401:
                    raise Unauthorized(self.source, path, status, "credentials rejected")
                if status not in RETRYABLE_STATUSES:
                    raise ApiError(self.source, path, status, _error_summary(response))
                failure = ApiError(self.source, path, status, _error_summary(response))
                delay = _retry_after(response)
            if attempt == policy.max_attempts:
                break
            if delay is None:
                delay = random.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))
            if waited + delay > policy.budget_seconds:
                break
            self.stats.add(retries=1)
            waited += delay
            self._sleep(delay)
        raise ApiError(
            failure.source, failure.path, failure.status,
            f"gave up after {attempt} attempts and {waited:.1f}s of backoff",
        )  # fmt: skip


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_summary(response: requests.Response) -> str:
    """A short reason from the error body; bodies never carry our credentials."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "error"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "error")[:200]
    if isinstance(error, str):
        return error[:200]
    if isinstance(body, dict) and body.get("errors"):
        first = body["errors"][0]
        return str(first.get("detail") or first.get("code"))[:200]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:200]
    return response.reason or "error"

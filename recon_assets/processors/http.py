"""HTTP with timeouts, bounded retries (tenacity: exponential backoff with full jitter, Retry-After, a
time budget) and statistics. A fetch can be cancelled: backoff sleeps wake at once and no new attempt starts.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
import requests
import tenacity
import urllib3

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(RuntimeError):
    """A source API call that failed for good; names the source, the URL path and the status, no secret."""

    def __init__(self, source: str, path: str, status: int | None, reason: str):
        self.source, self.path, self.status, self.reason = source, path, status, reason
        status_text = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{source} API {path}: {status_text}: {reason}")


class Unauthorized(ApiError):
    """401: the caller may refresh its credentials once and try again."""


class Cancelled(ApiError):
    """The fetch this call belonged to was cancelled (another stream failed first)."""

    def __init__(self, source: str, path: str):
        super().__init__(source, path, None, "cancelled because another request of the same fetch failed")


class _Retryable(ApiError):
    """A failure worth another attempt (connection error, timeout, 429 or 5xx)."""

    def __init__(self, source: str, path: str, status: int | None, reason: str, retry_after: float | None = None):
        super().__init__(source, path, status, reason)
        self.retry_after = retry_after


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


class RequestPacer:
    """At most ``per_second`` requests started per second, across every thread of a client: each request
    takes the next free slot on a grid of ``1 / per_second`` and waits for it. The wait is interruptible,
    so a cancelled fetch stops at once."""

    def __init__(self, per_second: float, cancelled: threading.Event):
        self.per_second = per_second
        self.interval = 1.0 / per_second
        self.cancelled = cancelled
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait_for_slot(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self.cancelled.wait(slot - now)


class _WaitRetryAfterOrJitter(tenacity.wait.wait_base):
    """The server's Retry-After when it gives one, else exponential backoff with full jitter."""

    def __init__(self, policy: RetryPolicy):
        self.jitter = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            return failure.retry_after
        return self.jitter(retry_state)


class _StopOverBudget(tenacity.stop.stop_base):
    """Stop when the next wait would take the total waiting past the budget."""

    def __init__(self, budget_seconds: float):
        self.budget_seconds = budget_seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return retry_state.idle_for + (retry_state.upcoming_sleep or 0.0) > self.budget_seconds


class HttpClient:
    """A JSON HTTP client for one source. Thread-safe: one requests.Session per thread. With
    ``requests_per_second``, every attempt (retries too) waits for its slot under that rate."""

    def __init__(
        self,
        source: str,
        base_url: str,
        policy: RetryPolicy | None = None,
        stats: FetchStats | None = None,
        requests_per_second: float | None = None,
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.stats = stats or FetchStats()
        self.cancelled = threading.Event()  # set by the fetch that owns this client to stop every stream
        self.pacer = RequestPacer(requests_per_second, self.cancelled) if requests_per_second else None
        self._local = threading.local()
        self._templates: dict[tuple, requests.PreparedRequest] = {}  # see _prepared
        # one policy object for every request of every thread (tenacity keeps its state per thread)
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=_WaitRetryAfterOrJitter(self.policy),
            stop=(
                tenacity.stop_after_attempt(self.policy.max_attempts)
                | tenacity.stop_when_event_set(self.cancelled)
                | _StopOverBudget(self.policy.budget_seconds)
            ),
            sleep=self.cancelled.wait,  # an interruptible sleep: cancelling wakes it at once
            before_sleep=lambda _: self.stats.add(retries=1),
            reraise=True,
        )

    @property
    def pacer_rate(self) -> float | None:
        """Requests per second this client allows itself (None: unpaced)."""
        return self.pacer.per_second if self.pacer else None

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = _session(https=self.base_url.startswith("https:"))
        return self._local.session

    def request_json(self, method: str, path: str, **request: Any) -> Any:
        """The response body, decoded (for small answers: a token, a list of locations)."""
        body = self.request(method, path, **request)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiError(self.source, path, 200, "response is not valid JSON") from None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> bytes:
        """The response body as received, after retries; raises ApiError when it never succeeded."""
        retrying = self._retrying
        try:
            return retrying(self._attempt, method, path, params=params, headers=headers, data=data, auth=auth)
        except _Retryable as failure:
            if self.cancelled.is_set():
                raise Cancelled(self.source, path) from None
            attempts = retrying.statistics.get("attempt_number", 1)
            waited = retrying.statistics.get("idle_for", 0.0)
            raise ApiError(
                self.source, path, failure.status,
                f"{failure.reason}; gave up after {attempts} attempts and {waited:.1f}s of backoff",
            ) from None  # fmt: skip

    def _attempt(self, method: str, path: str, **kwargs: Any) -> Any:
        if self.pacer is not None:
            self.pacer.wait_for_slot()
        if self.cancelled.is_set():
            raise Cancelled(self.source, path)
        self.stats.add(requests=1)
        policy = self.policy
        try:
            response = self.session.send(
                self._prepared(method, path, **kwargs), timeout=(policy.connect_timeout, policy.read_timeout),
                stream=True, allow_redirects=False,
            )  # fmt: skip
            status = response.status_code
            if status < 400:  # the body in one read, not requests' 10 KB chunks: a page is 150 KB
                body = response.raw.read(decode_content=True)
                response.raw.release_conn()
                return body
        except (requests.ConnectionError, requests.Timeout, urllib3.exceptions.HTTPError) as exc:
            raise _Retryable(self.source, path, None, type(exc).__name__) from None
        if status == 401:
            raise Unauthorized(self.source, path, status, "credentials rejected")
        if status in RETRYABLE_STATUSES:
            raise _Retryable(self.source, path, status, _error_summary(response), _retry_after(response))
        raise ApiError(self.source, path, status, _error_summary(response))

    def _prepared(self, method: str, path: str, *, params=None, headers=None, data=None, auth=None):
        """The request, prepared. A page request (no body, no auth) duplicates the one prepared for its endpoint
        and headers, then appends its query: preparing anew costs more than the rest of a request."""
        if data is not None or auth is not None:
            return requests.Request(method, self.base_url + path, params=params, headers=headers, data=data,
                                    auth=auth).prepare()  # fmt: skip
        key = (method, path, tuple((headers or {}).items()))
        template = self._templates.get(key)
        if template is None:
            template = self._templates.setdefault(key, requests.Request(method, self.base_url + path,
                                                                        headers=headers).prepare())  # fmt: skip
        prepared = template.copy()
        if params:
            prepared.url = f"{prepared.url}?{urlencode(params, doseq=True)}"
        return prepared


def _session(https: bool) -> requests.Session:
    """A session that reads the environment once: unless a proxy is configured (then requests honours it,
    and NO_PROXY, request by request), no per-request lookup of proxies or ~/.netrc. The CA bundle variables
    are read here, for HTTPS only (requests checks the bundle's path on every request)."""
    session = requests.Session()
    session.trust_env = bool(urllib.request.getproxies())
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    session.verify = (bundle if https else None) or True
    return session


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
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        return str(first.get("detail") or first.get("code"))[:200] if isinstance(first, dict) else "error"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:200]
    return response.reason or "error"

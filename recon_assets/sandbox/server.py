"""The sandbox HTTP server: Stripe, PayPal, Square and ledger endpoints with their paging and auth.

It can inject faults (``POST /_sandbox/faults``: 429 with Retry-After, 5xx, malformed JSON), add
latency, enforce a rate limit (``POST /_sandbox/settings`` ``rate_limit_per_second``: 429 above it) and
expire PayPal tokens, so clients are tested over a real socket against real behaviour.
"""

from __future__ import annotations

import base64
import bisect
import collections
import functools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlparse

import orjson

from recon_assets.contracts import ledger_entry_values, ledger_page_limits
from recon_assets.sandbox import formats
from recon_assets.sandbox.settlement import LOOKBACK_DAYS, SandboxPayout, ledger_settlement_entries, payouts_arriving
from recon_assets.sandbox.world import (
    SQUARE_LOCATIONS,
    Booking,
    SandboxConfig,
    expected_findings,
    ledger_bookings,
    processor_movements,
)


class Credentials(NamedTuple):
    key: str  # the API key, token or client id
    secret: str | None = None  # the client secret, for APIs that have one


# What the sandbox accepts, per source (the names of recon_assets.processors.registry.SOURCES).
SANDBOX_CREDENTIALS = {
    "stripe": Credentials("sk_test_recon_sandbox"),
    "paypal": Credentials("recon-sandbox-client", "recon-sandbox-secret"),
    "square": Credentials("recon-sandbox-square-token"),
    "ledger": Credentials("recon-sandbox-ledger-token"),
}
MAX_SPAN_DAYS = 31


@dataclass
class Fault:
    path_prefix: str
    status: int
    count: int = 1
    retry_after: float | None = None
    malformed: bool = False
    after: int = 0  # let this many matching requests through first (a failure in the middle of a fetch)


@dataclass
class SandboxState:
    config: SandboxConfig
    latency_ms: float = 0.0
    token_ttl_seconds: int = 32_400
    paypal_compact_offsets: bool = False
    stripe_repeat_across_pages: bool = False  # each page starts with the last record of the page before
    payouts: dict[str, SandboxPayout] = field(default_factory=dict)  # listed so far, by id (for their items)
    rate_limited: int = 0  # requests refused by the rate limit
    rate_limit_per_second: float = 0.0  # above this many requests in the trailing second: 429 (0: no limit)
    faults: list[Fault] = field(default_factory=list)
    arrivals: collections.deque = field(default_factory=collections.deque)
    tokens: dict[str, float] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def over_rate_limit(self) -> bool:
        """True when this request exceeds the rate limit (it is refused and not counted), as real APIs do."""
        if not self.rate_limit_per_second:
            return False
        with self.lock:
            now = time.monotonic()
            while self.arrivals and self.arrivals[0] <= now - 1.0:
                self.arrivals.popleft()
            if len(self.arrivals) >= self.rate_limit_per_second:
                self.rate_limited += 1
                return True
            self.arrivals.append(now)
            return False

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and fault.count > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.count -= 1
                    return fault
        return None


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _days(start: datetime, end: datetime) -> list[date]:
    if end <= start:
        return []
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    if (last - first).days >= MAX_SPAN_DAYS:
        raise HttpError(400, {"error": {"code": "RANGE_TOO_LARGE", "message": "range exceeds 31 days"}})
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _generated_once(maxsize: int):
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


@_generated_once(maxsize=16)
def _encoded_day(config: SandboxConfig, processor: str, day: date, compact: bool) -> list[bytes]:
    """Each of the day's movements in its processor's wire format, encoded once (the first
    ``bad_currency_records`` with an invalid currency; PayPal's offsets compact when asked)."""
    encode = {
        "stripe": lambda m, currency: formats.stripe_object(m, currency),
        "paypal": lambda m, currency: formats.paypal_detail(m, currency, compact),
        "square": lambda m, currency: formats.square_object(m, currency),
    }[processor]
    bad = config.bad_currency_records
    return [orjson.dumps(encode(m, "XYZ" if i < bad else None))
            for i, m in enumerate(processor_movements(config, processor, day))]  # fmt: skip


@functools.lru_cache(maxsize=256)
def _window(
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
    for day in _days(start, end):
        day_items = processor_movements(config, processor, day)
        encoded = _encoded_day(config, processor, day, compact)
        stamps = [m.created for m in day_items]  # sorted: movements are oldest first
        for i in range(bisect.bisect_left(stamps, start), bisect.bisect_left(stamps, end)):
            m = day_items[i]
            if (kind is None or m.kind == kind) and (location is None or m.location_id == location):
                ids.append(m.txn_id)
                records.append(encoded[i])
    return ids, records, {txn_id: i for i, txn_id in enumerate(ids)}


def _json_list(records: list[bytes]) -> orjson.Fragment:
    """Records already encoded, as a JSON array to splice into a response."""
    return orjson.Fragment(b"[" + b",".join(records) + b"]")


def _stripe_time(params: dict[str, str], name: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(params[name]), tz=UTC)
    except (KeyError, ValueError):
        raise HttpError(400, {"error": {"type": "invalid_request_error", "message": f"{name} is required"}}) from None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise HttpError(400, {"error": {"code": "BAD_CURSOR", "message": "invalid cursor"}}) from None


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} must be an integer"}}) from None
    if not low <= value <= high:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} out of range"}})
    return value


def _time(value: str | None, name: str) -> datetime:
    if not value:
        raise HttpError(400, {"error": {"code": "MISSING_PARAM", "message": f"{name} is required"}})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} is not a date-time"}}) from None
    if parsed.tzinfo is None:
        raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": f"{name} needs an offset"}})
    return parsed.astimezone(UTC)


class SandboxApi:
    """Request routing and the endpoints, independent of the HTTP server plumbing."""

    def __init__(self, state: SandboxState):
        self.state = state

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    def handle(self, method: str, path: str, params: dict[str, str], headers, body: bytes) -> Any:
        routes = {
            ("POST", "/v1/oauth2/token"): self.paypal_token,
            ("GET", "/v1/charges"): lambda p, h: self.stripe_list(p, h, "charge"),
            ("GET", "/v1/refunds"): lambda p, h: self.stripe_list(p, h, "refund"),
            ("GET", "/v1/reporting/transactions"): self.paypal_transactions,
            ("GET", "/v2/locations"): self.square_locations,
            ("GET", "/v2/payments"): lambda p, h: self.square_list(p, h, "payments"),
            ("GET", "/v2/refunds"): lambda p, h: self.square_list(p, h, "refunds"),
            ("GET", "/v1/payouts"): self.stripe_payouts,
            ("GET", "/v1/balance_transactions"): self.stripe_balance_transactions,
            ("GET", "/v2/payouts"): self.square_payouts,
            ("GET", "/v1/transactions"): self.ledger_transactions,
            ("GET", "/_sandbox/truth"): self.truth,
            ("POST", "/_sandbox/faults"): lambda p, h: self.add_fault(json.loads(body or b"{}")),
            ("POST", "/_sandbox/faults/clear"): lambda p, h: self.clear_faults(),
            ("POST", "/_sandbox/settings"): lambda p, h: self.settings(json.loads(body or b"{}")),
            ("POST", "/_sandbox/expire-tokens"): lambda p, h: self.expire_tokens(),
        }
        route = routes.get((method, path))
        entries = path.removeprefix("/v2/payouts/").removesuffix("/payout-entries")
        if route is None and method == "GET" and path == f"/v2/payouts/{entries}/payout-entries" and "/" not in entries:
            route = functools.partial(self.square_payout_entries, entries)
        if route is None:
            raise HttpError(404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {path}"}})
        return route(params, headers)

    # --- auth -------------------------------------------------------------------------------
    def _bearer(self, headers, expected: str | None, error: dict[str, Any]) -> None:
        value = headers.get("Authorization", "")
        token = value[7:] if value.startswith("Bearer ") else None
        if expected is not None and token == expected:
            return
        if expected is None and token is not None:
            expires = self.state.tokens.get(token)
            if expires is not None and time.time() < expires:
                return
        raise HttpError(401, error)

    def paypal_token(self, params, headers) -> dict[str, Any]:
        value = headers.get("Authorization", "")
        want = ":".join(SANDBOX_CREDENTIALS["paypal"])
        if value != "Basic " + base64.b64encode(want.encode()).decode():
            raise HttpError(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        token = secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.tokens[token] = time.time() + self.state.token_ttl_seconds
        return {"scope": "https://uri.paypal.com/services/reporting/search/read", "access_token": token,
                "token_type": "Bearer", "app_id": "APP-SANDBOX", "expires_in": self.state.token_ttl_seconds,
                "nonce": secrets.token_hex(8)}  # fmt: skip

    def expire_tokens(self) -> dict[str, Any]:
        with self.state.lock:
            count = len(self.state.tokens)
            self.state.tokens.clear()
        return {"expired": count}

    # --- Stripe -----------------------------------------------------------------------------
    def stripe_list(self, params, headers, kind: str) -> dict[str, Any]:
        self._bearer(
            headers,
            SANDBOX_CREDENTIALS["stripe"].key,
            {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
        )
        limit = _int(params, "limit", 10, 1, 100)
        try:
            start = datetime.fromtimestamp(int(params["created[gte]"]), tz=UTC)
            end = datetime.fromtimestamp(int(params["created[lt]"]), tz=UTC)
        except (KeyError, ValueError):
            raise HttpError(
                400,
                {"error": {"type": "invalid_request_error", "message": "created[gte] and created[lt] are required"}},
            ) from None
        ids, records, index = _window(self.config, "stripe", start, end, kind, None)
        newest_first = len(ids) - 1  # Stripe lists newest first
        after = params.get("starting_after")
        if after is not None and after not in index:
            raise HttpError(400, {"error": {"type": "invalid_request_error", "message": "No such object"}})
        first = 0 if after is None else newest_first - index[after] + 1
        page = [records[newest_first - i] for i in range(first, min(first + limit, len(ids)))]
        if after is not None and self.state.stripe_repeat_across_pages:
            page.insert(0, records[index[after]])  # as when records shift under a cursor
        url = "/v1/charges" if kind == "charge" else "/v1/refunds"
        return {"object": "list", "url": url, "has_more": first + limit < len(ids), "data": _json_list(page)}

    def stripe_payouts(self, params, headers) -> dict[str, Any]:
        self._stripe_auth(headers)
        start, end = (_stripe_time(params, f"arrival_date[{edge}]") for edge in ("gte", "lt"))
        found = [p for day in _days(start, end) for p in self._payouts(day, "stripe")]
        found.sort(key=lambda p: (p.created, p.payout_id), reverse=True)  # newest first
        return self._stripe_page(params, "/v1/payouts", [formats.stripe_payout(p) for p in found])

    def stripe_balance_transactions(self, params, headers) -> dict[str, Any]:
        self._stripe_auth(headers)
        payout = self.state.payouts.get(params.get("payout", ""))
        if payout is None or payout.processor != "stripe":
            raise HttpError(404, {"error": {"type": "invalid_request_error", "message": "No such payout"}})
        return self._stripe_page(params, "/v1/balance_transactions", formats.stripe_balance_transactions(payout))

    def _stripe_auth(self, headers) -> None:
        self._bearer(headers, SANDBOX_CREDENTIALS["stripe"].key,
                     {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})  # fmt: skip

    def _stripe_page(self, params, url: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        limit = _int(params, "limit", 10, 1, 100)
        ids = [o["id"] for o in objects]
        after = params.get("starting_after")
        if after is not None and after not in ids:
            raise HttpError(400, {"error": {"type": "invalid_request_error", "message": "No such object"}})
        first = 0 if after is None else ids.index(after) + 1
        return {"object": "list", "url": url, "has_more": first + limit < len(ids),
                "data": objects[first : first + limit]}  # fmt: skip

    def _payouts(self, day: date, processor: str) -> list[SandboxPayout]:
        """The processor's payouts arriving ``day``, remembered so their items can be asked for by id."""
        found = [p for p in payouts_arriving(self.config, day) if p.processor == processor]
        self.state.payouts.update({p.payout_id: p for p in found})
        return found

    # --- PayPal -----------------------------------------------------------------------------
    def paypal_transactions(self, params, headers) -> dict[str, Any]:
        self._bearer(headers, None, {"error": "invalid_token", "error_description": "Token is expired"})
        start, end = _time(params.get("start_date"), "start_date"), _time(params.get("end_date"), "end_date")
        size = _int(params, "page_size", 100, 1, 500)
        page = _int(params, "page", 1, 1, 2**31 - 1)
        if params.get("transaction_type", "").startswith("T04"):  # withdrawals to the bank, asked for by event code
            withdrawals = [
                p for day in _days(start, end) for p in self._payouts(day, "paypal") if start <= p.created < end
            ]
            records = [orjson.dumps(formats.paypal_withdrawal(p)) for p in withdrawals]
            ids = [p.payout_id for p in withdrawals]
        else:
            ids, records, _ = _window(self.config, "paypal", start, end, None, None, self.state.paypal_compact_offsets)
        return {
            "transaction_details": _json_list(records[(page - 1) * size : page * size]),
            "account_number": "RECONSANDBOX1",
            "start_date": formats.paypal_time(start),
            "end_date": formats.paypal_time(end),
            "last_refreshed_datetime": formats.paypal_time(datetime.now(UTC).replace(microsecond=0)),
            "page": page,
            "total_items": len(ids),
            "total_pages": (len(ids) + size - 1) // size,
            "links": [{"href": "/v1/reporting/transactions", "rel": "self", "method": "GET"}],
        }

    # --- Square -----------------------------------------------------------------------------
    def _square_auth(self, headers) -> None:
        self._bearer(headers, SANDBOX_CREDENTIALS["square"].key,
                     {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
                                  "detail": "This request could not be authorized."}]})  # fmt: skip

    def square_locations(self, params, headers) -> dict[str, Any]:
        self._square_auth(headers)
        return {"locations": [
            {"id": loc, "name": f"Sandbox store {i + 1}", "timezone": "UTC", "status": "ACTIVE",
             "country": "US", "currency": "USD", "merchant_id": "MLSANDBOX", "type": "PHYSICAL",
             "capabilities": ["CREDIT_CARD_PROCESSING"], "created_at": "2024-01-01T00:00:00.000Z"}
            for i, loc in enumerate(SQUARE_LOCATIONS)
        ]}  # fmt: skip

    def square_list(self, params, headers, key: str) -> dict[str, Any]:
        self._square_auth(headers)
        start, end = _time(params.get("begin_time"), "begin_time"), _time(params.get("end_time"), "end_time")
        limit = _int(params, "limit", 100, 1, 100)
        # ListPayments covers the default (first) location unless told; ListPaymentRefunds covers all.
        location = params.get("location_id") or (SQUARE_LOCATIONS[0] if key == "payments" else None)
        kind = "charge" if key == "payments" else "refund"
        _, records, _ = _window(self.config, "square", start, end, kind, location)
        if params.get("sort_order", "DESC") == "DESC":
            records = records[::-1]
        offset = _offset(params.get("cursor"))
        chunk = records[offset : offset + limit]
        body: dict[str, Any] = {key: _json_list(chunk)} if chunk else {}  # Square leaves an empty list out
        if offset + limit < len(records):
            body["cursor"] = _token(offset + limit)
        return body

    def square_payouts(self, params, headers) -> dict[str, Any]:
        self._square_auth(headers)
        start, end = _time(params.get("begin_time"), "begin_time"), _time(params.get("end_time"), "end_time")
        location = params.get("location_id", SQUARE_LOCATIONS[0])  # the seller's main location by default
        arrivals = _days(start, end + timedelta(days=LOOKBACK_DAYS))
        found = [p for day in arrivals for p in self._payouts(day, "square")
                 if p.location_id == location and start <= p.created < end]  # fmt: skip
        found.sort(key=lambda p: (p.created, p.payout_id), reverse=params.get("sort_order", "DESC") == "DESC")
        return self._square_page(params, "payouts", [formats.square_payout(p) for p in found])

    def square_payout_entries(self, payout_id: str, params, headers) -> dict[str, Any]:
        self._square_auth(headers)
        payout = self.state.payouts.get(payout_id)
        if payout is None or payout.processor != "square":
            raise HttpError(404, {"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
                                              "detail": f"Payout {payout_id} not found"}]})  # fmt: skip
        entries = formats.square_payout_entries(payout)
        return self._square_page(params, "payout_entries", entries[:: -1 if params.get("sort_order") == "DESC" else 1])

    def _square_page(self, params, key: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        limit = _int(params, "limit", 100, 1, 100)
        offset = _offset(params.get("cursor"))
        body: dict[str, Any] = {key: objects[offset : offset + limit]} if objects[offset : offset + limit] else {}
        if offset + limit < len(objects):
            body["cursor"] = _token(offset + limit)
        return body

    # --- ledger -----------------------------------------------------------------------------
    def ledger_transactions(self, params, headers) -> dict[str, Any]:
        self._bearer(
            headers,
            SANDBOX_CREDENTIALS["ledger"].key,
            {"error": {"code": "UNAUTHORIZED", "message": "missing or wrong token"}},
        )
        try:
            day = date.fromisoformat(params["date"])
        except (KeyError, ValueError):
            raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": "date is required"}}) from None
        known = ledger_entry_values("processor")
        processor = params.get("processor")
        if processor and processor not in known:
            raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": "unknown processor"}})
        processors = [processor] if processor else [p for p in known if p in self.config.processors]
        default_limit, max_limit = ledger_page_limits()
        limit = _int(params, "limit", default_limit, 1, max_limit)
        entries = _ledger_day(self.config, tuple(processors), day)
        offset = _offset(params.get("page_token"))
        more = offset + limit < len(entries)
        return {
            "data": _json_list(entries[offset : offset + limit]),
            "next_page_token": _token(offset + limit) if more else None,
        }

    # --- control ----------------------------------------------------------------------------
    def truth(self, params, headers) -> dict[str, Any]:
        if "processor" not in params or "date" not in params:
            raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": "processor and date are required"}})
        found = expected_findings(self.config, params["processor"], date.fromisoformat(params["date"]))
        return {"findings": sorted([list(f) for f in found], key=str)}

    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            self.state.faults.append(Fault(**spec))
        return {"ok": True}

    def clear_faults(self) -> dict[str, Any]:
        with self.state.lock:
            self.state.faults.clear()
        return {"ok": True}

    def settings(self, spec: dict[str, Any]) -> dict[str, Any]:
        for name in ("latency_ms", "token_ttl_seconds", "paypal_compact_offsets", "stripe_repeat_across_pages",
                     "rate_limit_per_second"):  # fmt: skip
            if name in spec:
                setattr(self.state, name, spec[name])
        return {"ok": True}


@_generated_once(maxsize=16)
def _ledger_day(config: SandboxConfig, processors: tuple[str, ...], day: date) -> list[bytes]:
    """The ledger's entries of the day, oldest first, each encoded once: the movements' and the payouts'."""
    payouts = [Booking(ledger_id, p, payout_id, kind, amount, currency, "succeeded", at, None)
               for p in processors for ledger_id, payout_id, kind, amount, currency, at
               in ledger_settlement_entries(config, p, day)]  # fmt: skip
    entries = sorted([*payouts, *(b for p in processors for b in ledger_bookings(config, p, day))],
                     key=lambda b: (b.booked_at, b.ledger_id))  # fmt: skip
    return [orjson.dumps(formats.ledger_entry(b)) for b in entries]


def _handler_for(api: SandboxApi):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go as two writes: never hold the body for an ACK

        def log_message(self, format, *args):  # noqa: A002 - quiet by default
            pass

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if method == "POST" and not url.path.startswith("/_sandbox"):
                params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
            if api.state.latency_ms and not url.path.startswith("/_sandbox"):
                time.sleep(api.state.latency_ms / 1000)
            limited = not url.path.startswith("/_sandbox") and api.state.over_rate_limit()
            fault = None if limited else api.state.take_fault(url.path)
            headers: dict[str, str] = {}
            if limited:
                status, headers = 429, {"Retry-After": "1"}
                payload = b'{"error": {"code": "RATE_LIMITED", "message": "too many requests in the last second"}}'
            elif fault and fault.malformed:
                status, payload = 200, b'{"data": [ {"truncated'
            elif fault:
                status = fault.status
                payload = json.dumps({"error": {"code": "SANDBOX_FAULT", "message": f"injected {status}"}}).encode()
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
            else:
                try:
                    status, payload = 200, orjson.dumps(api.handle(method, url.path, params, self.headers, body))
                except HttpError as exc:
                    status, payload, headers = exc.status, json.dumps(exc.body).encode(), exc.headers
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            self._serve("POST")

    return Handler


class SandboxServer:
    """A threaded sandbox server on a loopback port (0 picks a free one)."""

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = SandboxState(config=config or SandboxConfig())
        self.api = SandboxApi(self.state)
        ThreadingHTTPServer.request_queue_size = 128
        self._server = ThreadingHTTPServer((host, port), _handler_for(self.api))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def warm_day(config: SandboxConfig, day: date) -> None:
    """Generate ``day`` (and what its ledger day reads of its neighbours) ahead of the first request."""
    for processor in config.processors:
        _encoded_day(config, processor, day, False)
    _ledger_day(config, tuple(config.processors), day)


_in_process: dict[SandboxConfig, SandboxServer] = {}
_in_process_lock = threading.Lock()


def in_process_server(config: SandboxConfig) -> SandboxServer:
    """The process's own sandbox server for ``config``, started on first use."""
    with _in_process_lock:
        if config not in _in_process:
            _in_process[config] = SandboxServer(config).start()
        return _in_process[config]

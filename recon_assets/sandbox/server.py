"""The sandbox HTTP server: every source's API (``recon_assets.sandbox.<source>``, one module each, found by the
source's name in the registry) behind one loopback port, with the control endpoints tests use.

It can inject faults (``POST /_sandbox/faults``: 429 with Retry-After, 5xx, malformed JSON), add
latency, enforce a rate limit (``POST /_sandbox/settings`` ``rate_limit_per_second``: 429 above it) and
expire PayPal tokens, so clients are tested over a real socket against real behaviour.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson

from recon_assets.processors.registry import SOURCES
from recon_assets.sandbox import ledger
from recon_assets.sandbox.endpoints import HttpError, Routes, encoded_day, source_module
from recon_assets.sandbox.settlement import SandboxPayout, payouts_arriving
from recon_assets.sandbox.world import SandboxConfig, expected_findings

# What the sandbox accepts, per source (the names of recon_assets.processors.registry.SOURCES).
SANDBOX_CREDENTIALS = {name: source_module(name).CREDENTIALS for name in SOURCES}


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


class SandboxApi:
    """Request routing, the credentials every source checks, and the control endpoints; each source's own
    endpoints are its module's ``routes``."""

    def __init__(self, state: SandboxState):
        self.state = state
        self.routes: Routes = {
            ("GET", "/_sandbox/truth"): self.truth,
            ("POST", "/_sandbox/faults"): lambda p, h: self.add_fault(p),
            ("POST", "/_sandbox/faults/clear"): lambda p, h: self.clear_faults(),
            ("POST", "/_sandbox/settings"): lambda p, h: self.settings(p),
            ("POST", "/_sandbox/expire-tokens"): lambda p, h: self.expire_tokens(),
        }
        for name in SOURCES:
            self.routes |= source_module(name).routes(self)
        # a path with {names} matches any one segment in their place, given to the handler by name
        self.patterns = [
            (method, re.compile(re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"), handler)
            for (method, path), handler in self.routes.items()
            if "{" in path
        ]

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    def handle(self, method: str, path: str, params: dict[str, str], headers, body: bytes) -> Any:
        if method == "POST" and path.startswith("/_sandbox/"):
            params = {**params, **json.loads(body or b"{}")}  # a control request says what it wants in JSON
        route = self.routes.get((method, path))
        if route is not None:
            return route(params, headers)
        for wanted, pattern, handler in self.patterns:
            found = pattern.match(path)
            if wanted == method and found:
                return handler(params, headers, **found.groupdict())
        raise HttpError(404, {"error": {"code": "NOT_FOUND", "message": f"no route {method} {path}"}})

    def bearer(self, headers, expected: str | None, error: dict[str, Any]) -> None:
        """A request's bearer token must be ``expected``, or (None) a token issued and not yet expired."""
        value = headers.get("Authorization", "")
        token = value[7:] if value.startswith("Bearer ") else None
        if expected is not None and token == expected:
            return
        if expected is None and token is not None:
            expires = self.state.tokens.get(token)
            if expires is not None and time.time() < expires:
                return
        raise HttpError(401, error)

    def payouts_arriving(self, day: date, processor: str) -> list[SandboxPayout]:
        """The processor's payouts arriving ``day``, remembered so their items can be asked for by id."""
        found = [p for p in payouts_arriving(self.config, day) if p.processor == processor]
        self.state.payouts.update({p.payout_id: p for p in found})
        return found

    # --- control ----------------------------------------------------------------------------
    def truth(self, params, headers) -> dict[str, Any]:
        if "processor" not in params or "date" not in params:
            raise HttpError(400, {"error": {"code": "BAD_PARAM", "message": "processor and date are required"}})
        found = expected_findings(self.config, params["processor"], date.fromisoformat(params["date"]))
        return {"findings": sorted([list(f) for f in found], key=str)}

    def expire_tokens(self) -> dict[str, Any]:
        with self.state.lock:
            count = len(self.state.tokens)
            self.state.tokens.clear()
        return {"expired": count}

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
        encoded_day(config, processor, day, False)
    ledger.day_entries(config, tuple(config.processors), day)


_in_process: dict[SandboxConfig, SandboxServer] = {}
_in_process_lock = threading.Lock()


def in_process_server(config: SandboxConfig) -> SandboxServer:
    """The process's own sandbox server for ``config``, started on first use."""
    with _in_process_lock:
        if config not in _in_process:
            _in_process[config] = SandboxServer(config).start()
        return _in_process[config]

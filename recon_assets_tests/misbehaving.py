"""A processor API that misbehaves on purpose: a proxy on loopback in front of the sandbox that rewrites
responses as a test tells it (broken envelopes, bad records, dead endpoints), so everything else about
the day is the sandbox's, with its known truth."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests


@dataclass
class Exchange:
    """One request and the upstream's answer, which a rule may rewrite."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    body: Any  # the decoded JSON, or None
    raw: bytes | None = None  # set to send these bytes instead of ``body``
    content_type: str = "application/json"


# A rule rewrites an exchange in place; the n-th request to a path (from 1) is in ``Proxy.counts``.
Rule = Callable[[Exchange, int], None]


@dataclass
class MisbehavingProxy:
    upstream: str
    rules: dict[str, Rule] = field(default_factory=dict)  # path prefix -> rule
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                proxy.serve(self, "GET")

            def do_POST(self):  # noqa: N802
                proxy.serve(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(handler.path)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "content-type")}
        answer = requests.request(method, self.upstream + handler.path, data=body, headers=headers, timeout=30)
        try:
            decoded = answer.json()
        except ValueError:
            decoded = None
        exchange = Exchange(method, url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}, answer.status_code,
                            decoded)  # fmt: skip
        with self.lock:
            n = self.counts[url.path] = self.counts.get(url.path, 0) + 1
        for prefix, rule in self.rules.items():
            if url.path.startswith(prefix):
                rule(exchange, n)
        payload = exchange.raw if exchange.raw is not None else json.dumps(exchange.body).encode()
        handler.send_response(exchange.status)
        handler.send_header("Content-Type", exchange.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def __enter__(self) -> MisbehavingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Where a stage's time went: named parts, summed, for the asset metadata (``seconds_<part>``)."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def timed(self, name: str, items):
        """``items`` as they come, the time spent waiting for each counted to ``name``."""
        iterator = iter(items)
        while True:
            with self.part(name):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item

    def as_metadata(self) -> dict[str, float]:
        return {f"seconds_{name}": round(value, 3) for name, value in self.seconds.items()}


_END = object()

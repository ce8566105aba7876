"""Which check evaluations deserve an alert: one per (check, partition, severity), then one recovery; or, for a
check that lists what it is about item by item (the disputes due), one per item, whichever day lists it.

The book is the alert sensor's whole memory. It is serialised into the sensor's cursor, which Dagster
keeps in the instance's storage, so a daemon restart neither forgets nor repeats an alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    ALERT = "alert"
    RECOVER = "recover"


@dataclass
class IncidentBook:
    """Open incidents by "<asset>|<check>|<partition>", the last evaluation id seen for each, and a watermark.

    ``watermark`` is the highest evaluation id below which every evaluation has been handled; the
    sensor reads only newer ones (and those at or above the oldest one still running).
    """

    watermark: int = 0
    open: dict[str, str] = field(default_factory=dict)  # incident -> severity alerted
    last_seen: dict[str, int] = field(default_factory=dict)  # incident -> evaluation id

    @classmethod
    def from_cursor(cls, cursor: str | None) -> IncidentBook:
        if not cursor:
            return cls()
        state = json.loads(cursor)
        return cls(state["watermark"], state["open"], {k: int(v) for k, v in state["last_seen"].items()})

    def to_cursor(self) -> str:
        return json.dumps({"watermark": self.watermark, "open": self.open, "last_seen": self.last_seen})

    def observe(self, incident: str, evaluation_id: int, passed: bool, severity: str) -> Action | None:
        """Record one evaluation (in id order); the action it calls for, if any."""
        if evaluation_id <= self.last_seen.get(incident, 0):
            return None  # already handled (re-read after a pending evaluation held the watermark back)
        self.last_seen[incident] = evaluation_id
        if passed:
            return Action.RECOVER if self.open.pop(incident, None) else None
        if self.open.get(incident) == severity:
            return None
        self.open[incident] = severity
        return Action.ALERT

    def observe_items(self, check: str, items: list[str], evaluation_id: int, severity: str) -> list[str]:
        """Record one evaluation of a check that lists its items (in id order); the items it newly lists, to
        alert on. An item no longer listed is closed silently: listed again later, it alerts again."""
        if evaluation_id <= self.last_seen.get(check, 0):
            return []
        self.last_seen[check] = evaluation_id
        listed = {f"{check}|{item}": item for item in items}
        for incident in [k for k in self.open if k.startswith(f"{check}|") and k not in listed]:
            del self.open[incident]
        new = [item for incident, item in listed.items() if incident not in self.open]
        self.open |= dict.fromkeys((f"{check}|{item}" for item in new), severity)
        return new

    def advance(self, highest_seen: int, oldest_pending: int | None) -> None:
        """Move the watermark; forget closed incidents that can no longer be re-read."""
        self.watermark = max(self.watermark, highest_seen if oldest_pending is None else oldest_pending - 1)
        self.last_seen = {k: v for k, v in self.last_seen.items() if k in self.open or v > self.watermark}

"""The audit log: its hash chain (each row's ``row_hash`` covers its content and the previous row's hash),
the heads published outside the database that anchor it, and what the alerts remember in it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import psycopg


@dataclass(frozen=True)
class Anchor:
    """A head of the chain recorded outside the database: the hash row ``row_id`` had when it was published.

    A head given by hand may come without its row id: then only its presence in the chain can be checked.
    """

    row_hash: str
    row_id: int | None = None
    label: str = "the head given"


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head: str | None  # row_hash of the last row: publish it to anchor the chain
    broken_at: int | None = None  # id of the first row that does not verify
    reason: str | None = None
    anchors_checked: int = 0
    latest_anchor: Anchor | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None


def verify_chain(conn: psycopg.Connection, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Walk the log in id order, then hold it against heads published outside the database.

    The walk names the first row whose content or link does not match its hash. It cannot see a chain
    rewritten as a whole (every hash recomputed, as a superuser could) or cut at its end: a published
    head can. Its row must still be there, with the hash it had when the head was published.
    """
    previous: str | None = None
    rows = 0
    wanted_ids = {a.row_id for a in anchors if a.row_id is not None}
    wanted_hashes = {a.row_hash for a in anchors if a.row_id is None}
    hash_of: dict[int, str] = {}
    hashes_seen: set[str] = set()
    with conn.cursor(name="audit_chain") as cursor:
        cursor.itersize = 5000
        cursor.execute(
            """SELECT id, prev_hash, row_hash,
                      recon_audit_hash(id, created_at, actor, action, entity, entity_id, details, prev_hash)
               FROM audit_logs ORDER BY id"""
        )
        for ident, prev_hash, row_hash, recomputed in cursor:
            rows += 1
            if prev_hash != previous:
                reason = "links to a row that is not the one before it (a row was deleted or reordered)"
                return ChainReport(rows, previous, ident, reason)
            if row_hash != recomputed:
                return ChainReport(rows, previous, ident, "its content no longer matches its hash (edited)")
            previous = row_hash
            if ident in wanted_ids:
                hash_of[ident] = row_hash
            if row_hash in wanted_hashes:
                hashes_seen.add(row_hash)
    for anchor in sorted(anchors, key=lambda a: (a.row_id is None, a.row_id or 0)):
        reason = _anchor_problem(anchor, hash_of, hashes_seen)
        if reason:
            return ChainReport(rows, previous, anchor.row_id, reason, len(anchors), anchor)
    latest = max((a for a in anchors if a.row_id is not None), key=lambda a: a.row_id, default=None)
    return ChainReport(rows, previous, anchors_checked=len(anchors), latest_anchor=latest)


def _anchor_problem(anchor: Anchor, hash_of: dict[int, str], hashes_seen: set[str]) -> str | None:
    short = f"{anchor.row_hash[:12]}…"
    if anchor.row_id is None:
        return None if anchor.row_hash in hashes_seen else (
            f"{anchor.label} ({short}) is no longer in the log (rows were rewritten or removed)"
        )  # fmt: skip
    if anchor.row_id not in hash_of:
        return (f"row {anchor.row_id}, published as the head with {anchor.label}, is no longer in the log "
                "(rows were removed from its end)")  # fmt: skip
    if hash_of[anchor.row_id] != anchor.row_hash:
        return (f"row {anchor.row_id} no longer has the hash published with {anchor.label} ({short}): "
                "the log was rewritten at or before it")  # fmt: skip
    return None


def chain_head(conn: psycopg.Connection) -> Anchor | None:
    """The newest row, as an anchor to publish outside the database."""
    row = conn.execute("SELECT id, row_hash FROM audit_logs ORDER BY id DESC LIMIT 1").fetchone()
    return Anchor(row_hash=row[1], row_id=row[0]) if row else None


PUBLISHED_HEAD = "audit_head.json"  # beside each daily summary, as heads were published before services.audit


def published_head(anchor: Anchor, day: date) -> bytes:
    """The head as the daily summary of ``day`` publishes it."""
    return json.dumps({"row_id": anchor.row_id, "row_hash": anchor.row_hash, "day": day.isoformat()}).encode()


def anchor_from_published(document: bytes) -> Anchor:
    head = json.loads(document)
    return Anchor(row_hash=head["row_hash"], row_id=int(head["row_id"]), label=f"the daily summary of {head['day']}")


ALERT_OUTCOMES = ("alert_sent", "alert_skipped", "alert_failed")


def alert_handled(conn: psycopg.Connection, dedup_key: str, occurrence: str) -> bool:
    """True when this alert was already sent, skipped or failed for this occurrence (an evaluation or a run)."""
    (found,) = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM audit_logs WHERE entity = 'alert' AND entity_id = %s
           AND details->>'occurrence' = %s AND action = ANY(%s))""",
        (dedup_key, occurrence, list(ALERT_OUTCOMES)),
    ).fetchone()
    return bool(found)


def log(conn: psycopg.Connection, since: date | None = None, limit: int = 200) -> list[tuple]:
    """The audit log's rows, oldest first, from ``since`` (a UTC day) on, at most ``limit`` of the latest:
    (id, created_at, actor, action, entity, entity_id, details)."""
    rows = conn.execute(
        """SELECT id, created_at, actor, action, entity, entity_id, details FROM audit_logs
           WHERE %(since)s::date IS NULL OR created_at >= %(since)s::date
           ORDER BY id DESC LIMIT %(limit)s""",
        {"since": since, "limit": limit},
    ).fetchall()
    return rows[::-1]

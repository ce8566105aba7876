"""The audit log's hash chain: each row's ``row_hash`` covers its content and the previous row's hash."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head: str | None  # row_hash of the last row: publish it to anchor the chain
    broken_at: int | None = None  # id of the first row that does not verify
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None


def verify_chain(conn: psycopg.Connection, published_head: str | None = None) -> ChainReport:
    """Walk the log in id order; the first row whose content or link does not match is named.

    Rows cut from the end leave an intact, shorter chain: ``published_head`` (a head recorded
    elsewhere earlier, e.g. in a daily report) must still be found in the chain.
    """
    previous: str | None = None
    rows = 0
    head_seen = published_head is None
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
            head_seen = head_seen or row_hash == published_head
    if not head_seen:
        return ChainReport(rows, previous, None, f"the published head {published_head} is no longer in the log "
                           "(rows were removed from its end)")  # fmt: skip
    return ChainReport(rows, previous)


def chain_head(conn: psycopg.Connection) -> str | None:
    """The newest row's hash: published outside the database, it anchors the chain."""
    row = conn.execute("SELECT row_hash FROM audit_logs ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


ALERT_OUTCOMES = ("alert_sent", "alert_skipped", "alert_failed")


def alert_handled(conn: psycopg.Connection, dedup_key: str, occurrence: str) -> bool:
    """True when this alert was already sent, skipped or failed for this occurrence (an evaluation or a run)."""
    (found,) = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM audit_logs WHERE entity = 'alert' AND entity_id = %s
           AND details->>'occurrence' = %s AND action = ANY(%s))""",
        (dedup_key, occurrence, list(ALERT_OUTCOMES)),
    ).fetchone()
    return bool(found)

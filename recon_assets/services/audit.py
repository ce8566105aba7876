"""Publishing the audit log's head: outside the database, append-only, and only over a chain that verifies.

Every head ever published is kept, one file each (``audit/heads/<row id>.json`` in the report store), never
overwritten; before a new one is published the chain is checked against all of them, so that a log rewritten
with every hash recomputed is refused instead of anchored. ``recon audit verify`` reads the same files.
"""

from __future__ import annotations

from datetime import date

import psycopg

from recon_assets.file_store import FileStore
from recon_assets.warehouse.audit import (
    PUBLISHED_HEAD,
    Anchor,
    anchor_from_published,
    chain_head,
    published_head,
    verify_chain,
)

HEADS = "audit/heads/"  # one file per head published, named by its row id


class ChainBroken(RuntimeError):
    """The audit log does not verify against itself or a head published before: no head is published over it."""


def published_anchors(store: FileStore) -> list[Anchor]:
    """Every head published so far: one file each under ``audit/heads/``, and the daily ones written beside the
    summaries before heads were kept apart (``reports/YYYY/MM/DD/audit_head.json``)."""
    keys = [f.name for f in store.files(HEADS) if f.name.endswith(".json")]
    keys += [f.name for f in store.files("reports/") if f.name.endswith(f"/{PUBLISHED_HEAD}")]
    return [anchor_from_published(store.get(key)) for key in keys]


def publish_head(conn: psycopg.Connection, store: FileStore, day: date) -> tuple[Anchor | None, str | None]:
    """Verify the chain against every head published, then publish its head as a new file (an unchanged head
    is already published: left as it is). Returns the head and its file; raises ``ChainBroken`` instead."""
    report = verify_chain(conn, published_anchors(store))
    if not report.intact:
        raise ChainBroken(
            f"the audit log is broken at row {report.broken_at}: {report.reason}; no head was published over it"
        )
    head = chain_head(conn)
    if head is None:
        return None, None
    key = f"{HEADS}{head.row_id:012d}.json"
    if store.exists(key):
        return head, store.uri(key)
    return head, store.put(key, published_head(head, day), "application/json")

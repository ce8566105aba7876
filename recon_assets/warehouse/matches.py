"""Manual matches: links a person makes between records no rule could match, and breaks again.

A link names processor records and ledger entries of one processor that explain each other. Making it
resolves the open findings that name any of them (resolution ``manual_match``); every later run reads the
active links and matches those records first, so the findings stay resolved. Breaking it reopens what it
resolved, and the next run finds them again. Links are never deleted; both changes are in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import psycopg

from recon_assets.domain.casework import Resolution
from recon_assets.domain.rules import ManualLink
from recon_assets.warehouse import store
from recon_assets.warehouse.locks import lock_partition


class LinkRefused(ValueError):
    """A link that cannot be made or broken as asked."""


def active_links(conn: psycopg.Connection, processor: str) -> list[ManualLink]:
    rows = conn.execute(
        """SELECT id, processor_txn_ids, ledger_ids FROM manual_matches
           WHERE processor_name = %s AND unmatched_at IS NULL ORDER BY id""",
        (processor,),
    ).fetchall()
    return [ManualLink(ident, tuple(txns), tuple(entries)) for ident, txns, entries in rows]


def _unknown(conn, processor: str, txn_ids: Sequence[str], ledger_ids: Sequence[str]) -> list[str]:
    landed_txns = {r[0] for r in conn.execute(
        "SELECT processor_txn_id FROM processor_transactions WHERE processor_name = %s AND processor_txn_id = ANY(%s)",
        (processor, list(txn_ids)),
    )}  # fmt: skip
    landed_entries = {r[0] for r in conn.execute(
        "SELECT ledger_id FROM ledger_transactions WHERE processor_name = %s AND ledger_id = ANY(%s)",
        (processor, list(ledger_ids)),
    )}  # fmt: skip
    return [i for i in txn_ids if i not in landed_txns] + [i for i in ledger_ids if i not in landed_entries]


def match(
    conn: psycopg.Connection, processor: str, txn_ids: Sequence[str], ledger_ids: Sequence[str], note: str, actor: str
) -> tuple[int, int]:
    """Link the records; returns the link's id and how many open findings it resolved."""
    txn_ids, ledger_ids = list(dict.fromkeys(txn_ids)), list(dict.fromkeys(ledger_ids))
    if not note.strip():
        raise LinkRefused("a manual match needs a note saying why")
    if len(txn_ids) + len(ledger_ids) < 2:
        raise LinkRefused("a manual match links at least two records")
    with conn.transaction():
        # links of one processor are made one at a time: a second waits here for the first to commit, then
        # sees it below (a read alone, before the write, let two overlapping links both pass)
        lock_partition(conn, "manual_matches", processor)
        unknown = _unknown(conn, processor, txn_ids, ledger_ids)
        if unknown:
            raise LinkRefused(f"no landed {processor} record or ledger entry {', '.join(unknown)}")
        taken = conn.execute(
            """SELECT id FROM manual_matches WHERE processor_name = %s AND unmatched_at IS NULL
                 AND (processor_txn_ids && %s::text[] OR ledger_ids && %s::text[])""",
            (processor, txn_ids, ledger_ids),
        ).fetchall()
        if taken:
            raise LinkRefused(f"already linked by manual match {', '.join(str(t[0]) for t in taken)}: unmatch it first")
        (link_id,) = conn.execute(
            """INSERT INTO manual_matches (processor_name, processor_txn_ids, ledger_ids, note, matched_by)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (processor, txn_ids, ledger_ids, note, actor),
        ).fetchone()
        resolved = conn.execute(
            """UPDATE discrepancies SET state = 'resolved', resolution = %s, resolution_note = %s,
                      resolved_by = %s, resolved_at = now(), resolved_on = current_date
               WHERE processor_name = %s AND state <> 'resolved'
                 AND (processor_txn_id = ANY(%s) OR ledger_id = ANY(%s))
               RETURNING id""",
            (Resolution.MANUAL_MATCH.value, f"manual match {link_id}: {note}", actor, processor, txn_ids, ledger_ids),
        ).fetchall()
        store.audit(conn, actor, "manual_match", "manual_matches", str(link_id),
                    {"processor": processor, "processor_txn_ids": txn_ids, "ledger_ids": ledger_ids, "note": note,
                     "resolved_discrepancies": [r[0] for r in resolved]})  # fmt: skip
    return link_id, len(resolved)


def unmatch(conn: psycopg.Connection, link_id: int, note: str, actor: str) -> int:
    """Break a link; returns how many findings it had resolved that are open again."""
    if not note.strip():
        raise LinkRefused("an unmatch needs a note saying why")
    with conn.transaction():
        row = conn.execute(
            """UPDATE manual_matches SET unmatched_at = now(), unmatched_by = %s, unmatch_note = %s
               WHERE id = %s AND unmatched_at IS NULL RETURNING processor_name, processor_txn_ids, ledger_ids""",
            (actor, note, link_id),
        ).fetchone()
        if row is None:
            raise LinkRefused(f"no active manual match {link_id}")
        processor, txn_ids, ledger_ids = row
        # what it resolved, unless another link still explains one of the finding's records
        reopened = conn.execute(
            """UPDATE discrepancies d SET state = 'open', resolution = NULL, resolution_note = NULL,
                      resolved_by = NULL, resolved_at = NULL, resolved_on = NULL
               WHERE d.processor_name = %(p)s AND d.resolution = %(manual)s
                 AND (d.processor_txn_id = ANY(%(txns)s) OR d.ledger_id = ANY(%(entries)s))
                 AND NOT EXISTS (SELECT 1 FROM manual_matches m
                                 WHERE m.processor_name = %(p)s AND m.unmatched_at IS NULL
                                   AND (d.processor_txn_id = ANY(m.processor_txn_ids)
                                        OR d.ledger_id = ANY(m.ledger_ids)))
               RETURNING d.id""",
            {"p": processor, "manual": Resolution.MANUAL_MATCH.value, "txns": txn_ids, "entries": ledger_ids},
        ).fetchall()
        store.audit(conn, actor, "manual_unmatch", "manual_matches", str(link_id),
                    {"processor": processor, "note": note,
                     "reopened_discrepancies": [r[0] for r in reopened]})  # fmt: skip
    return len(reopened)


def list_links(conn: psycopg.Connection, processor: str | None = None, include_broken: bool = False) -> pd.DataFrame:
    return store.read_frame(
        conn,
        """SELECT id, processor_name, processor_txn_ids, ledger_ids, note, matched_by, matched_at,
                  unmatched_by, unmatched_at, unmatch_note
           FROM manual_matches WHERE (%(p)s::text IS NULL OR processor_name = %(p)s)
             AND (%(all)s OR unmatched_at IS NULL) ORDER BY id""",
        {"p": processor, "all": include_broken},
    )

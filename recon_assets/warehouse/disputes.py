"""Disputes in the warehouse: each kept as its processor last described it, and read back as the working list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import psycopg

from recon_assets.domain.disputes import Dispute


def keep_disputes(conn: psycopg.Connection, disputes: Sequence[Dispute], day: date, run_id: str) -> int:
    """Each dispute as of its latest update: a run of an earlier day (a backfill) never brings an older status
    back. Returns how many rows changed."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(
            """INSERT INTO disputes AS k (processor_name, dispute_id, payment_id, amount_minor, currency, reason,
                   status, stage, outcome, due_by, opened_on, closed_on, updated_at, first_seen_on, last_seen_on,
                   dagster_run_id)
               VALUES (%(processor)s, %(reference)s, %(payment)s, %(amount)s, %(currency)s, %(reason)s,
                   %(status)s, %(stage)s, %(outcome)s, %(due_by)s, %(opened_on)s, %(closed_on)s, %(updated_at)s,
                   %(day)s, %(day)s, %(run_id)s)
               ON CONFLICT (processor_name, dispute_id) DO UPDATE SET
                   payment_id = coalesce(EXCLUDED.payment_id, k.payment_id), amount_minor = EXCLUDED.amount_minor,
                   currency = EXCLUDED.currency, reason = EXCLUDED.reason, status = EXCLUDED.status,
                   stage = EXCLUDED.stage, outcome = EXCLUDED.outcome, due_by = EXCLUDED.due_by,
                   opened_on = EXCLUDED.opened_on, closed_on = EXCLUDED.closed_on, updated_at = EXCLUDED.updated_at,
                   first_seen_on = least(k.first_seen_on, EXCLUDED.first_seen_on),
                   last_seen_on = greatest(k.last_seen_on, EXCLUDED.last_seen_on),
                   dagster_run_id = EXCLUDED.dagster_run_id
               WHERE k.updated_at <= EXCLUDED.updated_at""",
            [{"processor": d.processor, "reference": d.reference, "payment": d.payment, "amount": d.amount_minor,
             "currency": d.currency, "reason": d.reason, "status": d.status, "stage": d.stage,
             "outcome": d.outcome, "due_by": d.due_by, "opened_on": d.opened_on, "closed_on": d.closed_on,
             "updated_at": d.updated_at, "day": day, "run_id": run_id} for d in disputes],
        )  # fmt: skip
        return max(cursor.rowcount, 0)


def disputes_open_on(conn: psycopg.Connection, day: date, processor: str | None = None) -> list[Dispute]:
    """The disputes (of every processor, or of one) opened by ``day`` and not closed before it, as last
    described."""
    rows = conn.execute(
        """SELECT processor_name, dispute_id, payment_id, amount_minor, currency, reason, status, stage, due_by,
                  opened_on, updated_at, outcome
           FROM disputes WHERE opened_on <= %(day)s AND (closed_on IS NULL OR closed_on >= %(day)s)
             AND (%(processor)s::text IS NULL OR processor_name = %(processor)s)
           ORDER BY processor_name, dispute_id""",
        {"day": day, "processor": processor},
    ).fetchall()
    return [_dispute(row) for row in rows]


def _dispute(row: tuple) -> Dispute:
    processor, reference, payment, amount, currency, reason, status, stage, due_by, opened_on, updated, outcome = row
    return Dispute(processor, reference, payment, int(amount), currency.strip(), reason, status, stage, due_by,
                   opened_on, updated, outcome)  # fmt: skip

"""Casework in the warehouse: find exceptions (discrepancies being worked) by filter, assign, resolve, age.
Every change is audited."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import pandas as pd
import psycopg
from psycopg import sql

from recon_assets.domain.casework import (
    MANUAL_RESOLUTIONS,
    ExceptionPolicy,
    Resolution,
    State,
    age_days,
)
from recon_assets.warehouse import store

COLUMNS = (
    "id", "processor_name", "business_date", "discrepancy_type", "processor_txn_id", "ledger_id",
    "amount_at_risk", "reporting_currency", "state", "assigned_to", "resolution", "resolved_by",
    "resolution_note", "first_detected_on", "last_detected_on", "resolved_on",
    # the original figures, each in its own currency, and the cash side's references
    "processor_amount_minor", "processor_currency", "ledger_amount_minor", "ledger_currency", "at_risk_minor",
    "at_risk_currency", "expected_minor", "actual_minor", "payout_id", "bank_reference",
)  # fmt: skip


_LIST = sql.SQL(
    """SELECT {columns} FROM discrepancies
    WHERE (cardinality(%(ids)s::bigint[]) = 0 OR id = ANY(%(ids)s))
      AND (%(processor)s::text IS NULL OR processor_name = %(processor)s)
      AND (%(type)s::text IS NULL OR discrepancy_type = %(type)s)
      AND (%(state)s::text IS NULL OR state = %(state)s OR (%(state)s = 'unresolved' AND state <> 'resolved'))
      AND (%(min_amount)s::numeric IS NULL OR amount_at_risk >= %(min_amount)s)
    ORDER BY amount_at_risk DESC, id"""
).format(columns=sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))


@dataclass(frozen=True)
class ExceptionFilter:
    """Which exceptions: any field left unset matches everything. Open means open or assigned."""

    ids: tuple[int, ...] = ()
    processor: str | None = None
    discrepancy_type: str | None = None
    state: str | None = "unresolved"  # open, assigned, resolved, unresolved (open or assigned), or None
    severity: str | None = None
    min_age_days: int | None = None
    min_amount: Decimal | None = None

    @property
    def narrows(self) -> bool:
        """True when ids or a filter narrow the selection (a bulk change needs one); the state alone does not."""
        return replace(self, state=None) != ExceptionFilter(state=None)


def list_exceptions(
    conn: psycopg.Connection, where: ExceptionFilter, policy: ExceptionPolicy, as_of: date
) -> pd.DataFrame:
    """Matching exceptions with their age (days since the business day), severity and SLA status."""
    frame = store.read_frame(
        conn,
        _LIST,
        {"ids": list(where.ids), "processor": where.processor, "type": where.discrepancy_type,
         "state": where.state, "min_amount": where.min_amount},
    )  # fmt: skip
    if frame.empty:
        return frame.assign(age_days=[], severity=[], sla_days=[], sla_breached=[])
    frame["age_days"] = [age_days(d, as_of) for d in frame["business_date"]]
    pairs = list(zip(frame["amount_at_risk"], frame["age_days"], strict=True))
    severities = [policy.severity(amount, age) for amount, age in pairs]
    frame["severity"] = [s.value for s in severities]
    frame["sla_days"] = [policy.sla_days(s) for s in severities]
    breached = [policy.breaches_sla(amount, age) for amount, age in pairs]
    frame["sla_breached"] = (frame["state"] != State.RESOLVED) & pd.Series(breached, index=frame.index, dtype=bool)
    if where.severity:
        frame = frame[frame["severity"] == where.severity]
    if where.min_age_days is not None:
        frame = frame[frame["age_days"] >= where.min_age_days]
    return frame.reset_index(drop=True)


def assign(conn: psycopg.Connection, ids: list[int], assignee: str, actor: str, note: str | None) -> int:
    """Assign unresolved exceptions to a person or team."""
    with conn.transaction():
        changed = conn.execute(
            """UPDATE discrepancies SET state = 'assigned', assigned_to = %s, assigned_at = now()
               WHERE id = ANY(%s) AND state <> 'resolved' RETURNING id, processor_name, business_date""",
            (assignee, ids),
        ).fetchall()
        for ident, processor, day in changed:
            store.audit(conn, actor, "exception_assigned", "discrepancies", str(ident),
                        {"assigned_to": assignee, "note": note, "processor": processor,
                         "business_date": day.isoformat()})  # fmt: skip
    return len(changed)


def resolve(conn: psycopg.Connection, ids: list[int], resolution: Resolution, note: str, actor: str) -> int:
    """Resolve unresolved exceptions with a reason a person gives (auto_matched is the engine's alone)."""
    if resolution not in MANUAL_RESOLUTIONS:
        raise ValueError(f"{resolution} is set by reconciliation runs, not by hand")
    if not note.strip():
        raise ValueError("a resolution needs a note saying why")
    with conn.transaction():
        changed = conn.execute(
            """UPDATE discrepancies SET state = 'resolved', resolution = %s, resolution_note = %s,
                      resolved_by = %s, resolved_at = now(), resolved_on = current_date
               WHERE id = ANY(%s) AND state <> 'resolved'
               RETURNING id, processor_name, business_date, amount_at_risk""",
            (resolution.value, note, actor, ids),
        ).fetchall()
        for ident, processor, day, amount in changed:
            store.audit(conn, actor, "exception_resolved", "discrepancies", str(ident),
                        {"resolution": resolution.value, "note": note, "processor": processor,
                         "business_date": day.isoformat(), "amount_at_risk": str(amount)})  # fmt: skip
    return len(changed)


def open_at(conn: psycopg.Connection, as_of: date) -> list[tuple]:
    """Findings open at the end of ``as_of``: (processor, business date, at-risk minor units, their currency,
    amount at risk)."""
    return conn.execute(
        """SELECT processor_name, business_date, at_risk_minor, at_risk_currency, amount_at_risk FROM discrepancies
           WHERE business_date <= %(d)s AND (resolved_on IS NULL OR resolved_on > %(d)s)""",
        {"d": as_of},
    ).fetchall()


def history(conn: psycopg.Connection, exception_id: int) -> list[tuple]:
    """The audit trail of one exception, oldest first: its own rows (detected again, assigned, resolved,
    reopened) and the manual matches that resolved or reopened it. (id, created_at, actor, action, details)."""
    mentioned = json.dumps([exception_id])
    return conn.execute(
        """SELECT id, created_at, actor, action, details FROM audit_logs
           WHERE (entity = 'discrepancies' AND entity_id = %(id)s)
              OR (entity = 'manual_matches' AND (details->'resolved_discrepancies' @> %(mentioned)s::jsonb
                                                 OR details->'reopened_discrepancies' @> %(mentioned)s::jsonb))
           ORDER BY id""",
        {"id": str(exception_id), "mentioned": mentioned},
    ).fetchall()


def sla_breaches_announced(conn: psycopg.Connection) -> set[int]:
    """Exceptions whose SLA breach has already been announced."""
    rows = conn.execute(
        "SELECT entity_id FROM audit_logs WHERE action = 'sla_breach_alerted' AND entity = 'discrepancies'"
    ).fetchall()
    return {int(entity_id) for (entity_id,) in rows}


def record_sla_announcements(conn: psycopg.Connection, breaches: pd.DataFrame) -> None:
    """Remember, in the audit log, that these breaches were announced."""
    with conn.transaction():
        for row in breaches.itertuples():
            store.audit(conn, "alerting", "sla_breach_alerted", "discrepancies", str(row.id),
                        {"severity": row.severity, "age_days": row.age_days, "sla_days": row.sla_days})  # fmt: skip

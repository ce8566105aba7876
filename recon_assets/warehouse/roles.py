"""The database roles a deployment runs with.

The owner role owns the schema and runs the migrations (``recon db upgrade``). The application role, the
one recon's processes connect as, is granted what its work needs and no more: reading and writing the
data tables, reading the migration state, and only reading and appending to the audit log. It is neither
the owner nor a superuser, so it can neither disable the audit log's triggers nor switch them off with
``session_replication_role``: rewriting the log takes an administrator.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

APPEND_ONLY = ("audit_logs",)
READ_ONLY = ("recon_alembic_version",)


def grant_application_role(conn: psycopg.Connection, role: str) -> None:
    """Grant ``role`` the application's privileges on everything the current role owns; run as the owner
    after each migration."""
    who = sql.Identifier(role)
    owned = [
        table
        for (table,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        ).fetchall()
    ]
    views = [
        view
        for (view,) in conn.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = 'public' AND viewowner = current_user"
        ).fetchall()
    ]
    with conn.transaction():
        # CREATE: Dagster creates its own storage tables (runs, events), which the role then owns
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(who))
        for table in owned:
            name = sql.Identifier(table)
            conn.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, who))
            if table in APPEND_ONLY:
                privileges = "SELECT, INSERT"
            elif table in READ_ONLY:
                privileges = "SELECT"
            else:
                privileges = "SELECT, INSERT, UPDATE, DELETE"
            conn.execute(sql.SQL("GRANT {} ON TABLE {} TO {}").format(sql.SQL(privileges), name, who))
        for view in views:
            conn.execute(sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(sql.Identifier(view), who))
        conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who))

"""The deployment's database roles: the owner migrates, the application role does its work and can only read
and append to the audit log; bypassing the log's triggers takes an administrator."""

import os
import subprocess
import sys
import uuid
from datetime import date

import psycopg
import pytest

from recon_assets import asset_keys
from recon_assets.warehouse import store
from recon_assets.warehouse.database import upgrade
from recon_assets.warehouse.resource import WarehouseResource
from recon_assets_tests.defs.graph import materialize

DAY = date(2026, 11, 20)


@pytest.fixture
def roles(server_url):
    """A database owned by an owner role, migrated by it, and an application role granted by ``recon db grant``."""
    suffix = uuid.uuid4().hex[:8]
    owner, app, database = f"recon_owner_{suffix}", f"recon_app_{suffix}", f"recon_roles_{suffix}"
    with psycopg.connect(server_url.libpq, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{owner}" LOGIN')
        admin.execute(f'CREATE ROLE "{app}" LOGIN')
        admin.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')
    owner_url = server_url.with_database(database).with_user(owner)
    app_url = server_url.with_database(database).with_user(app)
    with psycopg.connect(server_url.with_database(database).libpq, autocommit=True) as admin:
        admin.execute(f'ALTER SCHEMA public OWNER TO "{owner}"')
    upgrade(owner_url)
    granted = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "recon_assets.cli", "db", "grant", app],
        env={**os.environ, "RECON_DATABASE_URL": owner_url.libpq}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    try:
        yield owner_url, app_url
    finally:
        with psycopg.connect(server_url.libpq, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            admin.execute(f'DROP ROLE "{app}"')
            admin.execute(f'DROP ROLE "{owner}"')


BYPASSES = [
    "UPDATE audit_logs SET actor = 'someone else'",
    "DELETE FROM audit_logs",
    "TRUNCATE audit_logs",
    "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete",
    "SET session_replication_role = replica",
    "DROP TRIGGER audit_logs_chain ON audit_logs",
]


def test_the_application_role_appends_to_the_audit_log_and_can_do_nothing_else(roles):
    _, app_url = roles
    with psycopg.connect(app_url.libpq, autocommit=True) as conn:
        store.audit(conn, "test", "noted", "thing", "1", {"n": 1})
        assert conn.execute("SELECT actor FROM audit_logs").fetchall() == [("test",)]
        for statement in BYPASSES:
            with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)):
                conn.execute(statement)
        (superuser,) = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert superuser is False
        assert conn.execute("SELECT count(*) FROM audit_logs").fetchone() == (1,)


def test_the_application_role_reconciles_a_day(roles, resources):
    _, app_url = roles
    as_app = {**resources, "warehouse": WarehouseResource(database_url=app_url.libpq)}
    stripe_day = [asset_keys.LEDGER_TRANSACTIONS, asset_keys.raw_transactions("stripe"),
                  asset_keys.discrepancies("stripe"), asset_keys.reconciliation_summary("stripe")]  # fmt: skip
    assert materialize(as_app, DAY, stripe_day).success
    assert materialize(as_app, DAY, stripe_day).success  # a re-run replaces its partitions
    with psycopg.connect(app_url.libpq) as conn:
        assert conn.execute("SELECT count(*) FROM reconciliation_runs").fetchone() == (1,)

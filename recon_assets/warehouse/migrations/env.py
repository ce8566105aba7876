"""Alembic environment: migrations run on a connection handed in by ``recon_assets.warehouse.database``."""

from alembic import context

VERSION_TABLE = "recon_alembic_version"  # Dagster's own storage keeps its alembic_version beside ours

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()

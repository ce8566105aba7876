"""Taking a test warehouse back to an earlier schema (the package only ever upgrades)."""

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from recon_assets.warehouse.database import MIGRATIONS


def downgrade(url, target: str) -> None:
    engine = create_engine(url.sqlalchemy)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, target)
    finally:
        engine.dispose()

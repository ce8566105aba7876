"""Taking a test warehouse back to an earlier schema (the package only ever upgrades)."""

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from recon_assets.warehouse.database import MIGRATIONS, upgrade

BEFORE_DAY_PARTITIONS = "0016"  # the last schema with whole day-keyed tables (0017 partitions them)


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


def convert_to_day_partitions(url) -> list[str]:
    """Take the warehouse back to the schema before day partitions and upgrade it again, its rows moved into
    their days' partitions, as an existing warehouse is converted; returns the heads it reached."""
    downgrade(url, BEFORE_DAY_PARTITIONS)
    return upgrade(url)

"""The recon code location: every concern's definitions under ``defs/``, plus global settings."""

from pathlib import Path

import dagster as dg

from recon_assets.environment import from_environment
from recon_assets.warehouse.resource import WarehouseResource


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(
            resources={"warehouse": WarehouseResource(**from_environment(database_url="RECON_DATABASE_URL"))},
            # steps in parallel processes, forked from a server that has already imported the project
            executor=dg.multiprocess_executor.configured(
                {"start_method": {"forkserver": {"preload_modules": ["recon_assets.definitions"]}}}
            ),
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()

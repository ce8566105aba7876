"""The recon code location: every concern's definitions under ``defs/``, plus global settings."""

from pathlib import Path

import dagster as dg

import recon_assets.defs
from recon_assets.partitions import env_or_none
from recon_assets.warehouse.resource import WarehouseResource


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_defs(defs_root=recon_assets.defs, project_root=Path(__file__).parent.parent),
        dg.Definitions(
            resources={"warehouse": WarehouseResource(database_url=env_or_none("RECON_DATABASE_URL"))},
            # steps in parallel processes, forked from a server that has already imported the project
            executor=dg.multiprocess_executor.configured(
                {"start_method": {"forkserver": {"preload_modules": ["recon_assets.definitions"]}}}
            ),
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()

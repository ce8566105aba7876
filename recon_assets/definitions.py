"""The recon code location: every concern's definitions under ``defs/``, plus global settings."""

import warnings
from pathlib import Path

import dagster as dg

from recon_assets.environment import from_environment
from recon_assets.settings import recon_mode, validate_settings
from recon_assets.warehouse.resource import WarehouseResource

OWNERS = ["team:finance-operations"]  # who answers for every asset's figures
MODE_TAG = "recon/mode"


def _owned(definitions: dg.Definitions, mode: str) -> dg.Definitions:
    """Every asset with its owners and the mode it runs in (a tag the UI shows: sandbox or live), set here once
    (a function Dagster marks preview: its warning is not the user's to act on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return definitions.map_resolved_asset_specs(
            func=lambda spec: spec.replace_attributes(owners=OWNERS).merge_attributes(tags={MODE_TAG: mode})
        )


def build_definitions() -> dg.Definitions:
    validate_settings()  # a bad setting stops here, in one line, before any definition reads it
    return dg.Definitions.merge(
        _owned(dg.load_from_defs_folder(path_within_project=Path(__file__).parent), recon_mode()),
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

"""How the project is put together, checked: each of these was once found broken by reading the code."""

import ast
import re
from pathlib import Path

from recon_assets.cli import parser
from recon_assets.definitions import build_definitions
from recon_assets.processors.registry import PROCESSORS, SOURCES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recon_assets"
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|SELECT\s+\w+\s*\(|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|COPY\s+[\w.{}\"]+\s*(\([^)]*\)\s*)?(FROM|TO)\s)\b",
    re.I | re.S,
)


def python_files(folder: Path):
    return [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]


def string_literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``), at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def importing(layer: str, forbidden) -> list[str]:
    """Files of ``layer`` importing a module ``forbidden`` accepts, with that module."""
    return sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(PACKAGE / layer)
        for module in imports(path)
        if forbidden(module)
    )


def under(*prefixes: str):
    return lambda module: any(module == p or module.startswith(f"{p}.") for p in prefixes)


def test_the_domain_is_pure():
    """No orchestrator, driver or network in the domain: money, matching and risk are plain Python."""
    outside = under("dagster", "psycopg", "psycopg2", "sqlalchemy", "alembic", "adbc_driver_postgresql", "requests",
                    "boto3", "botocore", "recon_assets.defs", "recon_assets.warehouse", "recon_assets.services",
                    "recon_assets.cli", "recon_assets.processors", "recon_assets.sandbox")  # fmt: skip
    assert importing("domain", outside) == []


def test_the_cli_and_the_services_never_reach_into_the_assets():
    """``recon`` runs a day through the services and the Definitions, never the asset modules themselves."""
    assert importing("cli", under("recon_assets.defs")) == []
    assert importing("services", under("recon_assets.defs", "recon_assets.cli")) == []


def test_the_assets_land_reconcile_and_settle_through_the_services():
    """Landing, the engine and the three-way match are run in one place, the services, for every entry point."""
    engines = under("recon_assets.domain.matching.reconcile", "recon_assets.domain.settlement.settle_day",
                    "recon_assets.warehouse.findings.sync_discrepancies", "recon_assets.warehouse.landing.copy_records",
                    "recon_assets.warehouse.landing.clear_partition",
                    "recon_assets.warehouse.bank.replace_account_day")  # fmt: skip
    assert importing("defs", engines) == []
    assert importing("cli", engines) == []


def test_sql_lives_in_the_warehouse_package():
    outside = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files(PACKAGE)
        if "warehouse" not in path.relative_to(PACKAGE).parts
        for line, text in string_literals(path)
        if SQL.search(text)
    ]
    assert outside == []


OUTSIDE = re.compile(r"\.\./shared|[\"']shared[\"']")  # the reference folder beside a checkout, not in a clone


def test_nothing_reads_outside_the_repository():
    files = [*python_files(ROOT / "recon_assets"), *python_files(ROOT / "recon_assets_tests"), ROOT / ".ci/run"]
    assert [p for p in files if p != Path(__file__) and OUTSIDE.search(p.read_text())] == []


def defined_in_defs_folder() -> dict[str, set[str]]:
    """What the modules under ``defs/`` define at their top level, by kind: assets, checks, sensors, schedules, jobs."""
    import importlib
    import pkgutil

    import dagster as dg

    import recon_assets.defs

    found: dict[str, set[str]] = {"assets": set(), "sensors": set(), "schedules": set(), "jobs": set()}
    for info in pkgutil.walk_packages(recon_assets.defs.__path__, "recon_assets.defs."):
        for value in vars(importlib.import_module(info.name)).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dg.AssetsDefinition):
                    found["assets"] |= {key.to_user_string() for key in item.keys}
                elif isinstance(item, dg.SensorDefinition):
                    found["sensors"].add(item.name)
                elif isinstance(item, dg.ScheduleDefinition):
                    found["schedules"].add(item.name)
                elif isinstance(item, dg.JobDefinition):
                    found["jobs"].add(item.name)
    return found


def test_the_definitions_are_the_defs_folder_loaded_whole():
    """``definitions.py`` loads ``defs/`` with ``dg.load_from_defs_folder``: everything a module there defines is
    in the code location, and nothing else is."""
    definitions = build_definitions()
    found = defined_in_defs_folder()
    assert {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()} == found["assets"]
    assert {s.name for s in definitions.sensors} == found["sensors"]
    assert {s.name for s in definitions.schedules} == found["schedules"]
    assert found["jobs"] <= {job.name for job in definitions.jobs}
    assert len(found["assets"]) > 20 and found["sensors"] and found["schedules"] and found["jobs"]


def test_every_source_is_driven_by_its_spec():
    resources = build_definitions().resources
    for spec in SOURCES.values():
        resource = resources[spec.resource_key]
        assert resource.source == spec.name
    run = parser().parse_args(["run"])
    assert tuple(run.processors) == tuple(PROCESSORS)

"""How the project is put together, checked: each of these was once found broken by reading the code."""

import ast
import re
from pathlib import Path

from recon_assets.cli import parser
from recon_assets.definitions import build_definitions
from recon_assets.processors.registry import PROCESSORS, SOURCES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recon_assets"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|COPY\s+\w+)\b", re.I | re.S)


def python_files(folder: Path):
    return [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]


def string_literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


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


def test_definitions_load_the_defs_folder_the_current_way():
    text = (PACKAGE / "definitions.py").read_text()
    assert "load_from_defs_folder" in text and "load_defs(" not in text


def test_every_source_is_driven_by_its_spec():
    resources = build_definitions().resources
    for spec in SOURCES.values():
        resource = resources[spec.resource_key]
        assert resource.source == spec.name
    run = parser().parse_args(["run"])
    assert tuple(run.processors) == tuple(PROCESSORS)

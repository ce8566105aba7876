"""The project's own API contracts (OpenAPI 3), shipped with the package.

``ledger-api.yaml`` is the contract of the internal ledger's API. The ledger client takes its page
size and its accepted values from it, the sandbox serves it, and the tests validate responses against it.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def ledger_contract() -> dict[str, Any]:
    return yaml.safe_load(resources.files(__package__).joinpath("ledger-api.yaml").read_text(encoding="utf-8"))


def ledger_entry_schema() -> dict[str, Any]:
    return ledger_contract()["components"]["schemas"]["LedgerEntry"]


def ledger_entry_values(field: str) -> tuple[str, ...]:
    """The values the contract allows for an enumerated field of a ledger entry (``kind``, ``status``)."""
    return tuple(ledger_entry_schema()["properties"][field]["enum"])


def ledger_page_limits() -> tuple[int, int]:
    """(default, maximum) page size of ``GET /v1/transactions``."""
    parameters = ledger_contract()["paths"]["/v1/transactions"]["get"]["parameters"]
    (limit,) = [p["schema"] for p in parameters if p["name"] == "limit"]
    return limit["default"], limit["maximum"]

"""Every finding type through the doors a person uses: ``recon exceptions list --type`` and the launchpad's
``assign_discrepancies`` job, against a warehouse holding one finding of each type; a misspelt type is refused
by both, in one line."""

import uuid
from datetime import date
from decimal import Decimal

import pandas as pd
import psycopg
import pytest

from recon_assets import cli
from recon_assets.definitions import build_definitions
from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.domain.findings import names
from recon_assets.warehouse.database import prepared_url
from recon_assets.warehouse.findings import sync_discrepancies
from recon_assets.warehouse.resource import WarehouseResource

DAY = date(2026, 11, 20)


@pytest.fixture
def one_finding_of_each_type(warehouse_url, monkeypatch):
    frame = pd.DataFrame(
        [{"discrepancy_type": kind, "kind": "charge", "processor_txn_id": f"txn_{kind}", "at_risk_minor": 100,
          "at_risk_currency": "USD", "amount_at_risk": Decimal("1.00")} for kind in names()]
    )  # fmt: skip
    with psycopg.connect(warehouse_url.libpq) as conn:
        sync_discrepancies(conn, "stripe", DAY, frame, "USD", str(uuid.uuid4()), DAY, names())
    monkeypatch.setenv("RECON_DATABASE_URL", warehouse_url.libpq)
    prepared_url.cache_clear()
    yield warehouse_url
    prepared_url.cache_clear()


def assigned(url) -> dict[str, str | None]:
    with psycopg.connect(url.libpq) as conn:
        return dict(conn.execute("SELECT discrepancy_type, assigned_to FROM discrepancies").fetchall())


def test_every_type_is_listed_by_the_cli_and_assigned_by_the_launchpad_job(one_finding_of_each_type, capsys):
    url = one_finding_of_each_type
    job = build_definitions().resolve_job_def("assign_discrepancies")
    resources = {"warehouse": WarehouseResource(database_url=url.libpq), "exception_policy": ExceptionPolicySettings()}
    for kind in names():
        assert cli.main(["exceptions", "list", "--type", kind, "--output", "csv"]) == 0
        listed = capsys.readouterr().out.splitlines()
        assert len(listed) == 2 and f",{kind}," in listed[1], kind  # the header and its one finding
        config = {"discrepancy_type": kind, "assignee": f"team:{kind}", "note": "by type", "actor": "alice"}
        result = job.execute_in_process(run_config={"ops": {"assign_selected": {"config": config}}},
                                        resources=resources)  # fmt: skip
        assert result.success and result.output_for_node("assign_selected") == 1, kind
    assert assigned(url) == {kind: f"team:{kind}" for kind in names()}


def test_a_misspelt_type_is_refused_by_the_cli_and_the_launchpad_job(one_finding_of_each_type, capsys):
    url = one_finding_of_each_type
    with pytest.raises(SystemExit) as refused:
        cli.main(["exceptions", "list", "--type", "fee_varience"])
    assert refused.value.code == 2
    assert "invalid choice: 'fee_varience'" in capsys.readouterr().err
    job = build_definitions().resolve_job_def("assign_discrepancies")
    config = {"discrepancy_type": "fee_varience", "assignee": "x", "note": "by type", "actor": "alice"}
    result = job.execute_in_process(
        run_config={"ops": {"assign_selected": {"config": config}}},
        resources={"warehouse": WarehouseResource(database_url=url.libpq),
                   "exception_policy": ExceptionPolicySettings()},
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_failure_data.error.message.splitlines()[0].endswith(
        "discrepancy_type: unknown finding type 'fee_varience'; known: " + ", ".join(names())
    )
    assert set(assigned(url).values()) == {None}  # nothing changed

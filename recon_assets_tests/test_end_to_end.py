"""The Dagster UI's world, for real: dagster-webserver and dagster-daemon as subprocesses on loopback,
PostgreSQL storage, the code location from workspace.yaml. A backfill of 2 days x 3 processors is
launched through the same GraphQL mutation the UI uses; the daemon is stopped in the middle and started
again; the rows, check results and report files are then exactly what one clean run gives. The UI is
opened in headless Chromium and its asset graph and check results are screenshot."""

import json
import os
import re
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from recon_assets import asset_keys
from recon_assets.definitions import build_definitions
from recon_assets.processors.registry import PROCESSORS, SOURCES
from recon_assets.sandbox.world import SandboxConfig, processor_records
from recon_assets.services.settlement import windows
from recon_assets_tests.dagster_processes import DagsterProcesses, wait_until

ROOT = Path(__file__).resolve().parents[1]
DAYS = ["2026-11-19", "2026-11-20"]  # two days: a day and the day before it, as the summary compares them
VOLUME = 40
CHROMIUM = "/usr/bin/chromium"

LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
  }
}
"""
BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numCancelable }
  }
}
"""
BACKFILL_RUNS = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter) { ... on Runs { results { runId status tags { key value } } } }
}
"""


@pytest.fixture
def ui(tmp_path, fresh_database):
    """Webserver and daemon on a temporary instance home whose dagster.yaml is the repository's."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        "RECON_DATABASE_URL": fresh_database.libpq,  # the warehouse, and so Dagster's storage
        "RECON_REPORTS_DIR": str(tmp_path / "reports"),
        "RECON_SANDBOX_DAILY_VOLUME": str(VOLUME),
    }
    processes = DagsterProcesses(home, env)
    try:
        processes.start_webserver(ROOT / "workspace.yaml")
        processes.start_daemon(ROOT / "workspace.yaml")
        yield processes
    finally:
        processes.stop_all()


def backfill_status(ui: DagsterProcesses, backfill_id: str) -> str:
    return ui.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]


def backfill_runs(ui: DagsterProcesses, backfill_id: str) -> list[dict]:
    data = ui.graphql(BACKFILL_RUNS, {"filter": {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}})
    return data["runsOrError"]["results"]


SENSOR_INTERVAL = 60  # the statement sensors' and the automation's ticks are at most this far apart
RUNS_IN_FLIGHT = """
query Runs {
  runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) { ... on Runs { results { runId } } }
}
"""


def runs_in_flight(ui: DagsterProcesses) -> list[dict]:
    return ui.graphql(RUNS_IN_FLIGHT)["runsOrError"]["results"]


def day_range(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]


def expected_partitions(definitions) -> dict[str, list[str]]:
    """Per partitioned asset, the days a backfill of ``DAYS`` materialises: the sources' days around them that
    the windows read (the day before and after for transactions; the payouts' lookback and the bank lines'
    whole window for cash), landed only; everything that judges or reports, the two days alone."""
    first, last = date.fromisoformat(DAYS[0]), date.fromisoformat(DAYS[-1])
    window = windows()
    edges = {
        **{asset_keys.landed(s): (first - timedelta(days=1), last + timedelta(days=1)) for s in SOURCES},
        **{key(p): (first - timedelta(days=window.lookback), last)
           for p in PROCESSORS for key in (asset_keys.payouts, asset_keys.payout_items)},
        asset_keys.BANK_STATEMENT_LINES: (first - timedelta(days=window.lookback), last + timedelta(days=window.span)),
    }  # fmt: skip
    return {
        key.to_user_string(): day_range(*edges.get(key, (first, last)))
        for key in definitions.resolve_asset_graph().get_all_asset_keys()
        if definitions.resolve_assets_def(key).partitions_def is not None
    }


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals (start, end) that overlap at any moment."""
    moments = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, change in moments:  # at equal times an end (-1) sorts first: back-to-back steps do not overlap
        running += change
        peak = max(peak, running)
    return peak


def steps_per_pool(instance, run_ids) -> dict[str, list[tuple[float, float]]]:
    """When each landing step ran, by the API pool it calls, across the runs."""
    pool_of = {asset_keys.landed(spec.name).to_python_identifier(): spec.pool for spec in SOURCES.values()}
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    intervals: dict[str, list[tuple[float, float]]] = {}
    for run_id in run_ids:
        started = {}
        for entry in instance.all_logs(run_id, of_type=kinds):
            step = entry.step_key
            if step not in pool_of:
                continue
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                started[step] = entry.timestamp
            else:
                intervals.setdefault(pool_of[step], []).append((started.pop(step), entry.timestamp))
    return intervals


@pytest.mark.e2e
def test_backfill_survives_a_daemon_restart_and_the_ui_shows_it(ui, fresh_database, tmp_path, monkeypatch):
    definitions = build_definitions()
    every_partitioned_asset = [
        {"assetKey": {"path": list(key.path)}, "partitions": {"range": {"start": DAYS[0], "end": DAYS[-1]}}}
        for key in definitions.resolve_asset_graph().get_all_asset_keys()
        if definitions.resolve_assets_def(key).partitions_def is not None
    ]
    launched = ui.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "partitionsByAssets": every_partitioned_asset,
                "tags": [{"key": "trigger", "value": "backfill"}],
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    # stop the daemon once the backfill is under way, and start it again
    wait_until(
        lambda: any(r["status"] == "SUCCESS" for r in backfill_runs(ui, backfill_id)),
        timeout=300, interval=2, what="the backfill's first run",
    )  # fmt: skip
    ui.stop("daemon")
    assert backfill_status(ui, backfill_id) == "REQUESTED"
    ui.start_daemon(ROOT / "workspace.yaml")
    wait_until(
        lambda: backfill_status(ui, backfill_id) not in ("REQUESTED", "CANCELING"),
        timeout=900, interval=3, what=f"the backfill (daemon log: {ui.log('daemon')[-3000:]})",
    )  # fmt: skip
    assert backfill_status(ui, backfill_id) in ("COMPLETED", "COMPLETED_SUCCESS"), ui.log("daemon")[-3000:]
    runs = backfill_runs(ui, backfill_id)
    assert runs and all(r["status"] == "SUCCESS" for r in runs)
    assert all({"key": "trigger", "value": "backfill"} in r["tags"] for r in runs)
    # the sensors and the automation have a minute to react; then nothing else may have run
    time.sleep(SENSOR_INTERVAL + 15)
    wait_until(lambda: not runs_in_flight(ui), timeout=300, interval=3, what="runs the backfill set off")

    # every row exactly once: the sandbox's own record counts, one summary per day and processor
    config = SandboxConfig(daily_volume=VOLUME)
    with psycopg.connect(fresh_database.libpq) as conn:
        for day in DAYS:
            for processor in PROCESSORS:
                (landed,) = conn.execute(
                    "SELECT count(*) FROM processor_transactions WHERE processor_name = %s AND business_date = %s",
                    (processor, day),
                ).fetchone()
                assert landed == len(processor_records(config, processor, date.fromisoformat(day)))
        summaries = conn.execute("SELECT run_date::text, processor_name FROM reconciliation_runs").fetchall()
        assert sorted(summaries) == sorted((d, p) for d in DAYS for p in PROCESSORS)

    # the check results, read back from the instance's storage
    monkeypatch.setenv("RECON_DATABASE_URL", fresh_database.libpq)
    with dg.DagsterInstance.from_config(str(ui.home)) as instance:
        # what was asked, and only that: the two days landed, reconciled and reported; the days their windows
        # read (never landed before) landed, and only landed; no other day reconciled by any run
        materialised = {
            key.to_user_string(): sorted(instance.get_materialized_partitions(key))
            for key in definitions.resolve_asset_graph().get_all_asset_keys()
            if definitions.resolve_assets_def(key).partitions_def is not None
        }
        assert materialised == expected_partitions(definitions), materialised
        key = dg.AssetCheckKey(dg.AssetKey(["stripe", "reconciliation_summary"]), "risk_threshold")
        evaluated = {r.partition for r in instance.event_log_storage.get_asset_check_execution_history(key, 50)}
        assert set(DAYS) <= evaluated
        # however many runs the backfill ran at once, one step at a time called each API (the pools)
        pools = steps_per_pool(instance, [r["runId"] for r in runs])
        assert set(pools) == {spec.pool for spec in SOURCES.values()}
        assert all(len(steps) == len(DAYS) for steps in pools.values()), pools
        assert {pool: most_at_once(steps) for pool, steps in pools.items()} == dict.fromkeys(pools, 1)
        assert len(runs) > 1
    for day in DAYS:
        folder = tmp_path / "reports" / "reports" / day.replace("-", "/")
        assert (folder / "daily_summary.html").exists() and (folder / "stripe" / "discrepancies.csv").exists()

    if not Path(CHROMIUM).exists() and not os.environ.get("RECON_REQUIRE_BROWSER"):
        pytest.skip("backfill verified; Chromium not installed (apt-get install chromium), UI not checked")
    screenshots(ui.webserver_url)


def screenshots(base_url: str) -> None:
    """The asset graph and a day's check results in headless Chromium, saved for the README."""
    from playwright.sync_api import sync_playwright

    target = Path(os.environ.get("RECON_SCREENSHOT_DIR") or ROOT / ".recon" / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1300})
            page.set_viewport_size({"width": 1600, "height": 2400})  # the whole graph, every group open
            show_whole_graph(page, base_url)
            text = page.inner_text("body")
            for processor in PROCESSORS:  # each processor's assets in a box titled with its name
                assert re.search(rf"^{processor}$", text, re.MULTILINE), text[:2000]
            for node in ("raw_transactions", "discrepancies"):  # three of each, told apart by their boxes
                assert len(re.findall(rf"^{node}$", text, re.MULTILINE)) == len(PROCESSORS), text[:2000]
            page.screenshot(path=str(target / "asset-graph.png"))
            page.set_viewport_size({"width": 1600, "height": 1300})
            page.goto(f"{base_url}/assets/stripe/reconciliation_summary?view=checks", wait_until="networkidle")
            page.get_by_text("risk_threshold", exact=True).first.wait_for(timeout=60_000)
            dismiss_newsletter_dialog(page)
            page.get_by_text("Evaluation result", exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(target / "check-results.png"))
            body = page.inner_text("body")
            # the latest evaluation, whichever day finished last, and its result (a LOW day passes, others fail)
            assert re.search(r"Evaluation result\s+(Passed|Failed)", body), body[:2000]
            assert any(day in body for day in DAYS) and "risk_level" in body, body[:2000]
        finally:
            browser.close()
    assert (target / "asset-graph.png").stat().st_size > 10_000


GRAPH_GROUPS_KEY = "asset-graph-open-graph-nodes-global-__GLOBAL__"  # the UI's memory of expanded groups


def show_whole_graph(page, base_url: str) -> None:
    """The global lineage with every group expanded (as a person would click them open) and zoomed to fit."""
    groups = sorted({node.group_name for node in build_definitions().resolve_asset_graph().asset_nodes})
    expanded = json.dumps({"expanded": ",".join(f"global@global:{group}" for group in groups)})
    page.goto(f"{base_url}/asset-groups", wait_until="networkidle")
    page.evaluate("([key, value]) => { localStorage.setItem(key, value); localStorage.setItem('defaultZoom', '0.5'); }",
                  [GRAPH_GROUPS_KEY, expanded])  # fmt: skip
    page.goto(f"{base_url}/asset-groups", wait_until="networkidle")
    dismiss_newsletter_dialog(page)
    page.get_by_text("Hide navigation").click()
    page.locator("[aria-label='panel_show_right']").first.click()  # the group tree beside the graph
    for group in groups:
        page.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # the layout settles


def dismiss_newsletter_dialog(page) -> None:
    """The UI greets a new browser with a newsletter dialog; skip it so the screenshot shows the page."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
    except Exception:  # noqa: BLE001 - no dialog this time
        return
    skip.click()
    skip.wait_for(state="hidden", timeout=5_000)


def test_schedule_targets_yesterday_at_four_utc_with_tags():
    schedule = build_definitions().resolve_schedule_def("daily_reconciliation_0400_utc")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 26, 4, 0, tzinfo=UTC))
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-11-25"
    assert request.tags["trigger"] == "schedule"
    assert schedule.execution_timezone == "UTC" and schedule.cron_schedule == "0 4 * * *"
    assert yaml.safe_load((ROOT / "dagster.yaml").read_text())["run_coordinator"]["class"] == "QueuedRunCoordinator"

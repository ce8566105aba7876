"""``recon``: run the UI, reconcile days headless, manage the warehouse, serve the sandbox."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from recon_assets.warehouse.urls import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent
ALL_PROCESSORS = ("stripe", "paypal", "square")


def prepare_instance() -> Path:
    """Point Dagster at the instance home and the warehouse's PostgreSQL; returns the home."""
    from recon_assets.warehouse.database import prepared_url
    from recon_assets.warehouse.embedded import instance_home

    home = instance_home()
    os.environ["DAGSTER_HOME"] = str(home)
    url = prepared_url()
    os.environ.setdefault("RECON_DAGSTER_STORAGE_URL", url.dagster_storage)
    template = REPO_ROOT / "dagster.yaml"
    if template.exists() and not (home / "dagster.yaml").exists():
        shutil.copyfile(template, home / "dagster.yaml")
    return home


def cmd_dev(args: argparse.Namespace) -> int:
    home = prepare_instance()
    print(f"recon: instance home {home}; UI on http://{args.host}:{args.port}", flush=True)
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
               "-h", args.host, "-p", str(args.port)]  # fmt: skip
    return subprocess.call(command, cwd=REPO_ROOT)  # noqa: S603 - our own interpreter and arguments


def run_partitions(day: date, processors: list[str], trigger: str = "manual") -> bool:
    """Materialise what ``day``'s reconciliation needs (neighbouring days' landings included)."""
    import dagster as dg

    from recon_assets.definitions import build_definitions
    from recon_assets.partitions import daily_partitions

    prepare_instance()
    definitions = build_definitions()
    job = definitions.resolve_implicit_global_asset_job_def()
    existing = set(daily_partitions.get_partition_keys())
    landing = [dg.AssetKey(["ledger", "transactions"])] + [dg.AssetKey([p, "raw_transactions"]) for p in processors]
    reconciling = [dg.AssetKey([p, name]) for p in processors for name in ("discrepancies", "reconciliation_summary")]
    plan = [(day + timedelta(days=offset), landing) for offset in (-1, 1)] + [(day, landing + reconciling)]
    ok = True
    with dg.DagsterInstance.get() as instance:
        for partition, keys in plan:
            key = partition.isoformat()
            if key not in existing:
                continue
            result = job.execute_in_process(
                partition_key=key,
                instance=instance,
                asset_selection=keys,
                tags={"trigger": trigger, "business_date": key, "processors": ",".join(processors)},
                raise_on_error=False,
            )
            status = "succeeded" if result.success else "FAILED"
            print(f"recon: {key} {'+'.join(k.to_user_string() for k in keys)}: {status} (run {result.run_id})")
            ok &= result.success
    return ok


def cmd_run(args: argparse.Namespace) -> int:
    return 0 if run_partitions(args.date, args.processors) else 1


def cmd_report(args: argparse.Namespace) -> int:
    from recon_assets.warehouse.database import connect, prepared_url
    from recon_assets.warehouse.store import read_frame

    with connect(prepared_url()) as conn:
        frame = read_frame(
            conn,
            """SELECT processor_name, processor_transaction_count, internal_transaction_count, matched_count,
                      missing_transaction_count, missing_in_ledger_count, missing_at_processor_count,
                      amount_mismatch_count, currency_mismatch_count, status_mismatch_count, duplicate_count,
                      total_discrepancy_amount, total_volume_processed, reporting_currency, risk_level
               FROM reconciliation_runs WHERE run_date = %s ORDER BY processor_name""",
            (args.date,),
        )
    if frame.empty:
        print(f"recon: no reconciliation for {args.date} yet (recon run --date {args.date})")
        return 1
    print(frame.set_index("processor_name").T.to_string())
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from recon_assets.warehouse.database import check_reachable, configured_url, upgrade
    from recon_assets.warehouse.embedded import stop_embedded_server

    if args.action == "stop":
        print("recon: embedded PostgreSQL stopped" if stop_embedded_server() else "recon: not running")
        return 0
    url = configured_url()
    check_reachable(url)
    if args.action == "url":
        print(url.redacted)
        return 0
    applied = upgrade(url)
    print(f"recon: {url.redacted}: " + (f"applied {', '.join(applied)}" if applied else "schema up to date"))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from recon_assets.sandbox.server import SandboxServer
    from recon_assets.sandbox.world import SandboxConfig

    server = SandboxServer(SandboxConfig(seed=args.seed, daily_volume=args.daily_volume), args.host, args.port)
    server.state.latency_ms = args.latency_ms
    print(f"recon: sandbox serving on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


ROLE_PORTS = {"webserver": 3000, "code-server": 4000, "daemon": 0}
EXCEPTION_COLUMNS = ["id", "processor_name", "business_date", "discrepancy_type", "amount_at_risk", "severity",
                     "age_days", "sla_breached", "state", "assigned_to", "resolution"]  # fmt: skip


def _exception_filter(args: argparse.Namespace):
    from decimal import Decimal

    from recon_assets.warehouse.exceptions import ExceptionFilter

    return ExceptionFilter(
        ids=tuple(args.ids or ()),
        processor=args.processor,
        discrepancy_type=args.type,
        state=None if args.state == "all" else args.state,
        severity=args.severity,
        min_age_days=args.min_age,
        min_amount=Decimal(args.min_amount) if args.min_amount else None,
    )


def _print_frame(frame, output: str) -> None:
    if output == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        print(frame.to_markdown(index=False) if len(frame) else "(no exceptions)")


def cmd_exceptions(args: argparse.Namespace) -> int:
    from recon_assets.domain.exceptions import ExceptionPolicy, Resolution
    from recon_assets.warehouse import exceptions
    from recon_assets.warehouse.database import connect, prepared_url

    today = datetime.now(UTC).date()
    selection = _exception_filter(args)
    if args.action == "show":  # an exception asked for by id is shown whatever its state
        selection = dataclasses.replace(selection, state=None)
    with connect(prepared_url()) as conn:
        frame = exceptions.list_exceptions(conn, selection, ExceptionPolicy(), today)
        if args.action == "list":
            _print_frame(frame[EXCEPTION_COLUMNS], args.output)
            return 0
        if args.action == "show":
            if frame.empty:
                print(f"recon: no exception {', '.join(map(str, args.ids))}", file=sys.stderr)
                return 1
            for row in frame.to_dict("records"):
                print("\n".join(f"{k:>20}: {v}" for k, v in row.items()))
                history = conn.execute(
                    """SELECT created_at, actor, action, details FROM audit_logs
                       WHERE entity = 'discrepancies' AND entity_id = %s ORDER BY id""",
                    (str(row["id"]),),
                ).fetchall()
                print("             history:")
                for created, actor, action, details in history:
                    print(f"  {created:%Y-%m-%d %H:%M:%S} {actor:<12} {action:<22} {details}")
            return 0
        if not selection.narrows:
            print("recon: give ids or a filter: a bulk change of every open exception is refused", file=sys.stderr)
            return 2
        targets = frame[frame["state"] != "resolved"]
        done = {"assign": "assigned", "resolve": "resolved"}[args.action]
        print(f"recon: {len(targets)} exception(s) {'would' if args.dry_run else 'will'} be {done}")
        _print_frame(targets[EXCEPTION_COLUMNS], "table")
        if args.dry_run or targets.empty:
            return 0
        ids = [int(i) for i in targets["id"]]
        if args.action == "assign":
            changed = exceptions.assign(conn, ids, args.to, args.actor, args.note)
        else:
            changed = exceptions.resolve(conn, ids, Resolution(args.resolution), args.note, args.actor)
        print(f"recon: {changed} exception(s) {done} by {args.actor}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from recon_assets.warehouse.audit import verify_chain
    from recon_assets.warehouse.database import connect, prepared_url

    with connect(prepared_url()) as conn:
        report = verify_chain(conn, args.published_head)
    if report.intact:
        print(f"recon: audit log intact: {report.rows} rows, head {report.head}")
        return 0
    where = f" at row {report.broken_at}" if report.broken_at else ""
    print(f"recon: audit log BROKEN{where}: {report.reason} ({report.rows} rows read)")
    return 1


HEALTH_PROBES = {
    "code-server": lambda port: [sys.executable, "-m", "dagster", "api", "grpc-health-check", "-p", str(port)],
    "daemon": lambda port: [sys.executable, "-m", "dagster._daemon", "liveness-check"],
}


def cmd_health(args: argparse.Namespace) -> int:
    """Container health: the webserver answers /server_info, the code server gRPC, the daemon its heartbeat."""
    import urllib.request

    port = args.port or ROLE_PORTS[args.role]
    if args.role == "webserver":
        try:
            url = f"http://127.0.0.1:{port}/server_info"  # loopback, http only
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  # nosec B310
                return 0 if response.status == 200 else 1
        except OSError:
            return 1
    completed = subprocess.run(HEALTH_PROBES[args.role](port), capture_output=True, timeout=30)  # noqa: S603
    return completed.returncode


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="recon", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="start the Dagster UI and daemon on the local instance")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    run = sub.add_parser("run", help="reconcile a day headless; the runs show in the UI")
    run.add_argument("--date", type=date.fromisoformat, default=_yesterday())
    run.add_argument("--processors", nargs="+", choices=ALL_PROCESSORS, default=list(ALL_PROCESSORS))
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="print a day's reconciliation summary")
    report.add_argument("--date", type=date.fromisoformat, default=_yesterday())
    report.set_defaults(func=cmd_report)

    db = sub.add_parser("db", help="the warehouse: upgrade the schema, show its URL, stop the embedded server")
    db.add_argument("action", choices=("upgrade", "url", "stop"))
    db.set_defaults(func=cmd_db)

    health = sub.add_parser("health", help="exit 0 when this container's Dagster role is healthy")
    _exception_parsers(sub)
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    audit.add_argument("action", choices=("verify",))
    audit.add_argument("--published-head", help="a head hash recorded earlier (e.g. in a daily summary report)")
    audit.set_defaults(func=cmd_audit)

    role = os.environ.get("RECON_ROLE")
    health.add_argument("--role", choices=tuple(ROLE_PORTS), default=role, required=role is None)
    health.add_argument("--port", type=int, help="default: 3000 for the webserver, 4000 for the code server")
    health.set_defaults(func=cmd_health)

    sandbox = sub.add_parser("sandbox", help="the processor and ledger sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_sub.add_parser("serve", help="serve the sandbox APIs over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--daily-volume", type=int, default=300)
    serve.add_argument("--latency-ms", type=float, default=0.0)
    serve.set_defaults(func=cmd_sandbox)
    return root


def _exception_parsers(sub) -> None:
    import getpass

    from recon_assets.domain.exceptions import MANUAL_RESOLUTIONS, Severity
    from recon_assets.domain.matching import DISCREPANCY_TYPES

    exceptions = sub.add_parser("exceptions", help="list, show, assign and resolve discrepancies")
    actions = exceptions.add_subparsers(dest="action", required=True)
    for name, text in (("list", "exceptions matching a filter"), ("show", "one exception and its history"),
                       ("assign", "assign to a person or team"), ("resolve", "resolve with a reason")):  # fmt: skip
        action = actions.add_parser(name, help=text)
        action.add_argument("ids", nargs="*", type=int, help="exception ids (or use the filters)")
        action.add_argument("--processor", choices=ALL_PROCESSORS)
        action.add_argument("--type", choices=DISCREPANCY_TYPES)
        action.add_argument("--state", default="unresolved",
                            choices=("unresolved", "open", "assigned", "resolved", "all"))  # fmt: skip
        action.add_argument("--severity", choices=[s.value for s in Severity])
        action.add_argument("--min-age", type=int, help="days since the business day")
        action.add_argument("--min-amount", help="amount at risk, reporting currency")
        action.add_argument("--output", choices=("table", "csv"), default="table")
        if name in ("assign", "resolve"):
            action.add_argument("--note", required=name == "resolve", default=None)
            action.add_argument("--actor", default=getpass.getuser())
            action.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
        if name == "assign":
            action.add_argument("--to", required=True, help="person or team")
        if name == "resolve":
            action.add_argument("--resolution", required=True, choices=[r.value for r in MANUAL_RESOLUTIONS])
        action.set_defaults(func=cmd_exceptions)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as exc:
        print(f"recon: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``recon``: run the UI, reconcile days headless, work exceptions, manage the warehouse, serve the sandbox.

Every user error (a bad argument, a bad setting, an unreachable server) is one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import psycopg

from recon_assets.cli.archive import add_parsers as add_archive_parsers
from recon_assets.cli.casework import add_parsers as add_casework_parsers
from recon_assets.cli.doctor import add_parser as add_doctor_parser
from recon_assets.cli.instance import cmd_dev
from recon_assets.cli.run import cmd_report, cmd_run
from recon_assets.processors.registry import PROCESSORS
from recon_assets.sandbox.world import SandboxConfig, account_config
from recon_assets.warehouse.urls import ConfigurationError, one_line


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``recon: error: ...``), not the usage and then the error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def business_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (YYYY-MM-DD)") from None


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def reconcilable_date(text: str) -> date:
    """A day recon can reconcile: from the first partition to yesterday (UTC), the last day that is over."""
    from recon_assets.partitions import PARTITIONS_START

    day, first, last = business_date(text), date.fromisoformat(PARTITIONS_START), _yesterday()
    if not first <= day <= last:
        raise argparse.ArgumentTypeError(
            f"{day} is not a day recon can reconcile: days run from {first} to {last}, yesterday in UTC"
        )
    return day


def cmd_db(args: argparse.Namespace) -> int:
    from recon_assets.warehouse.database import check_reachable, configured_url, connect, upgrade
    from recon_assets.warehouse.embedded import stop_embedded_server
    from recon_assets.warehouse.roles import grant_application_role

    if args.action == "stop":
        print("recon: embedded PostgreSQL stopped" if stop_embedded_server() else "recon: not running")
        return 0
    url = configured_url()
    check_reachable(url)
    if args.action == "url":
        print(url.redacted)
        return 0
    if args.action == "grant":
        if not args.role:
            raise ConfigurationError("recon db grant needs the application role's name: recon db grant ROLE")
        with connect(url) as conn:
            grant_application_role(conn, args.role)
        print(f"recon: {args.role} may read and write the data and only append to the audit log")
        return 0
    applied = upgrade(url)
    print(f"recon: {url.redacted}: " + (f"applied {', '.join(applied)}" if applied else "schema up to date"))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from recon_assets.sandbox.server import SandboxServer, warm_day

    account = account_config(args.seed, args.daily_volume, args.stripe_converts)
    config = replace(account, processors=tuple(args.processors), dispute_rate=args.dispute_rate)
    if args.warm:  # the day generated before the server answers, so no caller waits for it
        warm_day(config, args.warm)
    server = SandboxServer(config, args.host, args.port)
    server.state.latency_ms = args.latency_ms
    print(f"recon: sandbox serving on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


ROLE_PORTS = {"webserver": 3000, "code-server": 4000, "daemon": 0}
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


def parser() -> argparse.ArgumentParser:
    root = OneLineParser(prog="recon", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    processors = tuple(PROCESSORS)

    dev = sub.add_parser("dev", help="start the Dagster UI and daemon (dagster dev) on the local warehouse")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    run = sub.add_parser("run", help="reconcile a day headless: land, reconcile, report, alert; runs show in the UI")
    run.add_argument("--date", type=reconcilable_date, default=_yesterday())
    run.add_argument("--processors", nargs="+", choices=processors, default=list(processors))
    run.add_argument("--verbose", action="store_true", help="print Dagster's event log as well")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="print a day's reconciliation summary")
    report.add_argument("--date", type=business_date, default=_yesterday())
    report.set_defaults(func=cmd_report)

    db = sub.add_parser("db", help="the warehouse: upgrade the schema, grant the application role, show its URL, "
                        "stop the embedded server")  # fmt: skip
    db.add_argument("action", choices=("upgrade", "grant", "url", "stop"))
    db.add_argument("role", nargs="?", help="for grant: the role recon's processes connect as")
    db.set_defaults(func=cmd_db)

    add_casework_parsers(sub, processors)
    add_archive_parsers(sub, business_date)
    add_doctor_parser(sub)

    health = sub.add_parser("health", help="exit 0 when this container's Dagster role is healthy")
    role = os.environ.get("RECON_ROLE")
    health.add_argument("--role", choices=tuple(ROLE_PORTS), default=role, required=role is None)
    health.add_argument("--port", type=int, help="default: 3000 for the webserver, 4000 for the code server")
    health.set_defaults(func=cmd_health)

    sandbox = sub.add_parser("sandbox", help="the processor and ledger sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True, parser_class=OneLineParser)
    serve = sandbox_sub.add_parser("serve", help="serve the sandbox APIs over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--seed", type=int, default=SandboxConfig.seed)
    serve.add_argument("--daily-volume", type=int, default=SandboxConfig.daily_volume)
    serve.add_argument("--latency-ms", type=float, default=0.0)
    serve.add_argument("--dispute-rate", type=float, default=SandboxConfig.dispute_rate,
                       help="more disputes, lost and booked right, as a share of a day's payments")  # fmt: skip
    serve.add_argument("--stripe-converts", default=os.environ.get("RECON_SANDBOX_STRIPE_CONVERTS", ""),
                       metavar="EUR,GBP", help="currencies the Stripe account settles in USD")  # fmt: skip
    serve.add_argument("--processors", nargs="+", choices=tuple(PROCESSORS), default=list(SandboxConfig.processors))
    serve.add_argument("--warm", type=business_date, help="generate this day before answering")
    serve.set_defaults(func=cmd_sandbox)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as exc:
        print(f"recon: error: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:  # the warehouse went away or refused: its reason, on one line
        print(f"recon: error: the warehouse: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("recon: interrupted", file=sys.stderr)
        return 130

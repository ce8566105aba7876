"""``recon doctor``: whether this setup can run a day, asked of each part once, the way ``dbt debug`` does.

For the current mode and settings: one cheap authenticated call per source, the bank statements' store
listed, the reports' store written and removed, SES's sending identity, the warehouse reachable with its
migrations current, and Dagster's storage reachable. A table of part, mode, where, result and time (never a
secret), then each failure on one line saying what to fix; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

ONE_TRY_SECONDS = 10.0  # a source that does not answer in this long is reported, not waited for


@dataclass(frozen=True)
class Result:
    part: str
    target: str
    ok: bool
    said: str  # what it found, or why it failed
    seconds: float
    fix: str = ""  # what to do about a failure


def check(part: str, target: Callable[[], str], probe: Callable[[], str], fix: Callable[[str], str]) -> Result:
    """Run one probe; any failure becomes a result (its reason on one line), never a traceback."""
    import dagster as dg

    from recon_assets.warehouse.urls import one_line

    started = time.monotonic()
    where = "-"
    try:
        where = target()
        said = probe()
        return Result(part, where, True, said, time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - every failure is a finding of the doctor
        reason = exc.description if isinstance(exc, dg.Failure) else one_line(exc)
        return Result(part, where, False, reason, time.monotonic() - started, fix(reason))


def _source_fix(spec) -> Callable[[str], str]:
    def fix(reason: str) -> str:
        if "HTTP 401" in reason or "HTTP 403" in reason:
            return f"check {spec.key_variable}" + (f" and {spec.secret_variable}" if spec.secret_variable else "")
        if "HTTP 404" in reason:
            return f"check {spec.base_url_variable}: nothing answers at that path"
        if "must be set" in reason:
            return "set it, or RECON_MODE=sandbox"
        return f"check {spec.base_url_variable} is reachable from here"

    return fix


def diagnose() -> list[Result]:
    """Every part of the setup, checked in order."""
    import dagster as dg

    from recon_assets.cli.instance import prepare_instance
    from recon_assets.definitions import build_definitions
    from recon_assets.processors.http import RetryPolicy
    from recon_assets.processors.registry import SOURCES
    from recon_assets.warehouse.database import check_reachable, configured_url, pending_migrations

    once = RetryPolicy(max_attempts=1, budget_seconds=0, connect_timeout=5, read_timeout=ONE_TRY_SECONDS)
    results = []
    definitions = build_definitions()
    with dg.build_resources(definitions.resources) as resources:
        for spec in SOURCES.values():
            api = getattr(resources, spec.resource_key)
            results.append(check(spec.name, api.address, lambda api=api: api.client(once).probe(), _source_fix(spec)))
        statements = resources.bank_statements
        results.append(check(
            "bank statements", lambda: statements.uri(""),
            lambda: f"listed: {len(statements.files())} file(s)" + (" (the sandbox bank fills it)"
                                                                     if statements.is_sandbox else ""),
            lambda _: "check BANK_STATEMENTS_BUCKET (s3:ListBucket) or RECON_BANK_STATEMENTS_DIR",
        ))  # fmt: skip
        reports = resources.report_store
        results.append(check(
            "reports", lambda: reports.uri(""), lambda: _write_and_remove(reports),
            lambda _: "check REPORTS_BUCKET (s3:PutObject, s3:DeleteObject) or RECON_REPORTS_DIR",
        ))  # fmt: skip
        email = resources.alert_channels.email
        results.append(check("alert email (SES)", lambda: email.sender or "-", lambda: _sending_identity(email),
                             lambda _: "verify ALERT_FROM_EMAIL in SES, in AWS_REGION"))  # fmt: skip
    url_of = {}
    results.append(check(
        "warehouse", lambda: url_of.setdefault("url", configured_url()).redacted,
        lambda: _migrations_current(url_of["url"], check_reachable, pending_migrations),
        lambda reason: "run recon db upgrade" if "not applied" in reason else "check RECON_DATABASE_URL",
    ))  # fmt: skip
    if results[-1].ok:  # Dagster's storage lives in the warehouse, and opening it migrates the warehouse
        results.append(check("dagster storage", lambda: str(prepare_instance()), _dagster_storage,
                             lambda _: "check RECON_DAGSTER_STORAGE_URL and DAGSTER_HOME"))  # fmt: skip
    return results


def _write_and_remove(store) -> str:
    key = f"doctor/{uuid.uuid4().hex}.txt"
    store.put(key, b"recon doctor", "text/plain")
    store.delete(key)
    return "a file written and removed"


def _sending_identity(email) -> str:
    if not email.configured:
        return "not configured: alerts go to Slack only, or nowhere (ALERT_FROM_EMAIL, OPERATIONS_EMAIL)"
    identity = email.client().get_email_identity(EmailIdentity=email.sender)
    if not identity.get("VerifiedForSendingStatus"):
        raise RuntimeError(f"{email.sender} is not verified for sending")
    return f"{email.sender} verified for sending"


def _migrations_current(url, check_reachable, pending_migrations) -> str:
    check_reachable(url)
    pending = pending_migrations(url)
    if pending:
        raise RuntimeError(f"migrations not applied: {', '.join(pending)}")
    return "reachable, migrations current"


def _dagster_storage() -> str:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        return f"reachable: {instance.get_runs_count()} run(s)"


def cmd_doctor(args: argparse.Namespace) -> int:
    import pandas as pd

    from recon_assets.settings import recon_mode

    mode = recon_mode()  # a mode recon cannot choose is refused in one line, exit 2
    results = diagnose()
    table = pd.DataFrame(
        [(r.part, mode, r.target, ("ok: " if r.ok else "FAILED: ") + r.said, f"{r.seconds:.2f}") for r in results],
        columns=["part", "mode", "where", "result", "seconds"],
    )
    print(table.to_markdown(index=False))
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"recon doctor: {r.part}: {r.said}; {r.fix}", file=sys.stderr)
    return 1 if failed else 0


def add_parser(sub) -> None:
    doctor = sub.add_parser("doctor", help="check this setup, part by part, before the first run")
    doctor.set_defaults(func=cmd_doctor)

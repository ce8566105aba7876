"""``recon exceptions``, ``recon match``, ``recon statements`` and ``recon audit``: working discrepancies down
from the terminal, linking by hand what no rule could match, the bank files taken in, and the audit log."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import re
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

EXCEPTION_COLUMNS = ["id", "processor_name", "business_date", "discrepancy_type", "amount_at_risk", "severity",
                     "age_days", "sla_breached", "state", "assigned_to", "resolution"]  # fmt: skip
_HEAD = re.compile(r"^[0-9a-f]{64}$")


def amount(text: str) -> Decimal:
    """An amount in the reporting currency, e.g. 1000 or 1000.50."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (e.g. 1000 or 1000.50)") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (a number of at least 0)")
    return value


def days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r} (0 or more)")
    return value


def nonempty(what: str):
    """An argument type for free text that must say something (a note, a person)."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{what} is empty")
        return text.strip()

    return parse


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (YYYY-MM-DD)") from None


def positive(what: str):
    """An argument type for a whole number above 0 (an id, a count)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
        return value

    return parse


exception_id = positive("an exception id")


def audit_head(text: str) -> str:
    value = text.strip().lower()
    if not _HEAD.match(value):
        raise argparse.ArgumentTypeError(f"not an audit head: {text!r} (64 hexadecimal characters, as published)")
    return value


def _selection(args: argparse.Namespace):
    from recon_assets.warehouse.casework import ExceptionFilter

    return ExceptionFilter(
        ids=tuple(args.ids or ()),
        processor=args.processor,
        discrepancy_type=args.type,
        state=None if args.state == "all" else args.state,
        severity=args.severity,
        min_age_days=args.min_age,
        min_amount=args.min_amount,
    )


def _print_frame(frame, output: str) -> None:
    """Exceptions as CSV (exact decimals, for a program) or a table (each amount with its currency's decimals
    and code, as printed: 12,979.05 USD, 9,399.30 USD)."""
    if output == "csv":
        sys.stdout.write(frame[EXCEPTION_COLUMNS].to_csv(index=False))
        return
    if frame.empty:
        print("(no exceptions)")
        return
    from recon_assets.domain.money import display

    amounts = [display(a, c.strip()) for a, c in zip(frame["amount_at_risk"], frame["reporting_currency"], strict=True)]
    print(frame.assign(amount_at_risk=amounts)[EXCEPTION_COLUMNS].to_markdown(index=False, disable_numparse=True))


def exception_fields(row: dict) -> dict[str, str]:
    """One exception as a controller reads it: every amount in its own currency with that currency's
    decimals (and the amount at risk in the reporting currency too), references, state and resolution."""
    import pandas as pd

    from recon_assets.domain.money import display

    def money(minor_column: str, currency_column: str) -> str | None:
        minor, currency = row.get(minor_column), row.get(currency_column)
        return None if pd.isna(minor) or not currency else display(int(minor), currency.strip(), minor=True)

    at_risk = money("at_risk_minor", "at_risk_currency")
    reporting = display(row["amount_at_risk"], row["reporting_currency"].strip())
    fields = {
        "id": row["id"], "type": row["discrepancy_type"], "processor": row["processor_name"],
        "business day": row["business_date"], "state": row["state"], "assigned to": row["assigned_to"],
        "severity": row.get("severity"), "age (days)": row.get("age_days"), "sla breached": row.get("sla_breached"),
        "processor record": row["processor_txn_id"], "processor amount": money("processor_amount_minor",
                                                                               "processor_currency"),
        "ledger entry": row["ledger_id"], "ledger amount": money("ledger_amount_minor", "ledger_currency"),
        "payout": row["payout_id"], "bank reference": row["bank_reference"],
        "expected": money("expected_minor", "at_risk_currency"), "actual": money("actual_minor", "at_risk_currency"),
        "at risk": f"{at_risk} ({reporting})" if at_risk and not at_risk.endswith(row["reporting_currency"].strip())
        else reporting,
        "first detected": row["first_detected_on"], "last detected": row["last_detected_on"],
        "resolved on": row["resolved_on"], "resolution": row["resolution"], "resolved by": row["resolved_by"],
        "note": row["resolution_note"],
    }  # fmt: skip
    return {k: str(v) for k, v in fields.items() if v is not None and not (isinstance(v, float) and pd.isna(v))}


def cmd_exceptions(args: argparse.Namespace) -> int:
    from recon_assets.domain.casework import ExceptionPolicy, Resolution
    from recon_assets.warehouse import casework
    from recon_assets.warehouse.database import connect, prepared_url

    today = datetime.now(UTC).date()
    selection = _selection(args)
    if args.action == "show":  # an exception asked for by id is shown whatever its state
        selection = dataclasses.replace(selection, state=None)
    with connect(prepared_url()) as conn:
        frame = casework.list_exceptions(conn, selection, ExceptionPolicy(), today)
        if args.action == "list":
            _print_frame(frame, args.output)
            return 0
        if args.action == "show":
            if frame.empty:
                print(f"recon: no exception {', '.join(map(str, args.ids))}", file=sys.stderr)
                return 1
            for row in frame.to_dict("records"):
                print("\n".join(f"{k:>20}: {v}" for k, v in exception_fields(row).items()))
                print("             history:")
                for _, created, actor, action, details in casework.history(conn, row["id"]):
                    print(f"  {created:%Y-%m-%d %H:%M:%S} {actor:<12} {action:<22} {details}")
            return 0
        if not selection.narrows:
            print(
                "recon: error: give ids or a filter: a bulk change of every open exception is refused", file=sys.stderr
            )
            return 2
        targets = frame[frame["state"] != "resolved"]
        done = {"assign": "assigned", "resolve": "resolved"}[args.action]
        print(f"recon: {len(targets)} exception(s) {'would' if args.dry_run else 'will'} be {done}")
        _print_frame(targets, "table")
        if args.dry_run or targets.empty:
            return 0
        ids = [int(i) for i in targets["id"]]
        if args.action == "assign":
            changed = casework.assign(conn, ids, args.to, args.actor, args.note)
        else:
            changed = casework.resolve(conn, ids, Resolution(args.resolution), args.note, args.actor)
        print(f"recon: {changed} exception(s) {done} by {args.actor}")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    """Each record exactly as its source sent it, read back from the compressed page it came on."""
    import json

    from recon_assets.processors.registry import PROCESSORS
    from recon_assets.warehouse.database import connect, prepared_url
    from recon_assets.warehouse.landing import LEDGER_TRANSACTIONS, PROCESSOR_TRANSACTIONS, landed_record

    missing = 0
    with connect(prepared_url()) as conn:
        for record_id in args.ids:
            found = landed_record(conn, PROCESSOR_TRANSACTIONS, record_id, list(PROCESSORS)) or landed_record(
                conn, LEDGER_TRANSACTIONS, record_id
            )
            if found is None:
                print(f"recon: no landed record {record_id}", file=sys.stderr)
                missing += 1
                continue
            source, day, received = found
            print(f"# {record_id}: {source}, business day {day}, as received")
            print(json.dumps(received, indent=2, sort_keys=True))
    return 1 if missing else 0


def published_anchors() -> list:
    """Every head published so far, read back from the report store."""
    import dagster as dg

    from recon_assets.definitions import build_definitions
    from recon_assets.services.audit import published_anchors as read_anchors

    with dg.build_resources({"store": build_definitions().resources["report_store"]}) as resources:
        return read_anchors(resources.store)


def audit_log(args: argparse.Namespace) -> int:
    """The audit log read back, a line per row, oldest first: all of it from ``--since``, or one item's."""
    import json

    from recon_assets.warehouse import audit, casework
    from recon_assets.warehouse.database import connect, prepared_url

    with connect(prepared_url()) as conn:
        if args.item:
            rows = [(i, at, actor, action, "discrepancies", str(args.item), details)
                    for i, at, actor, action, details in casework.history(conn, args.item)]  # fmt: skip
        else:
            rows = audit.log(conn, args.since, args.limit)
    if not rows:
        print("(no audit rows)")
    for ident, created, actor, action, entity, entity_id, details in rows:
        print(f"{ident:>8} {created:%Y-%m-%d %H:%M:%S} {actor:<14} {action:<24} {entity}/{entity_id or '-'} "
              f"{json.dumps(details, sort_keys=True)}")  # fmt: skip
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from recon_assets.warehouse.audit import Anchor, verify_chain
    from recon_assets.warehouse.database import connect, prepared_url

    if args.action == "log":
        return audit_log(args)

    anchors = published_anchors()
    if args.published_head:
        anchors.append(Anchor(row_hash=args.published_head))
    with connect(prepared_url()) as conn:
        report = verify_chain(conn, anchors)
    latest = report.latest_anchor
    against = (f"; checked against {report.anchors_checked} published head(s)"
               + (f", the latest row {latest.row_id} of {latest.label}" if latest else "")
               if anchors else "; no head published yet (a daily summary publishes one)")  # fmt: skip
    if report.intact:
        print(f"recon: audit log intact: {report.rows} rows, head {report.head}{against}")
        return 0
    where = f" at row {report.broken_at}" if report.broken_at else ""
    print(f"recon: audit log BROKEN{where}: {report.reason} ({report.rows} rows read)")
    return 1


def cmd_statements(args: argparse.Namespace) -> int:
    """The register of statement files taken in (landed, unchanged, quarantined with the reason), or the
    account-days two files stated differently."""
    import pandas as pd

    from recon_assets.warehouse import bank
    from recon_assets.warehouse.database import connect, prepared_url

    with connect(prepared_url()) as conn:
        if args.action == "conflicts":
            rows = bank.conflicts(conn)
            columns = ["account", "booking_date", "file_name", "replaced_file"]
        else:
            rows = bank.statement_files(conn, args.status)
            columns = ["file_name", "status", "format", "lines", "taken_in_at", "reason"]
    if not rows:
        print(f"(no statement {args.action})")
    else:
        print(pd.DataFrame(rows)[columns].fillna("").to_markdown(index=False))
    return 0


def _ids(text: str) -> list[str]:
    """Comma-separated record ids."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError(f"no ids in {text!r} (give them separated by commas)")
    return ids


def cmd_match(args: argparse.Namespace) -> int:
    from recon_assets.warehouse import matches
    from recon_assets.warehouse.database import connect, prepared_url

    with connect(prepared_url()) as conn:
        try:
            if args.action == "link":
                link_id, resolved = matches.match(conn, args.processor, args.transactions or [], args.ledger or [],
                                                  args.note, args.actor)  # fmt: skip
                print(f"recon: manual match {link_id} made by {args.actor}; {resolved} finding(s) resolved "
                      "(manual_match)")  # fmt: skip
            elif args.action == "unlink":
                reopened = matches.unmatch(conn, args.link, args.note, args.actor)
                print(f"recon: manual match {args.link} broken by {args.actor}; {reopened} finding(s) reopened")
            else:
                frame = matches.list_links(conn, args.processor, include_broken=args.all)
                print(frame.to_markdown(index=False) if len(frame) else "(no manual matches)")
        except matches.LinkRefused as exc:
            print(f"recon: error: {exc}", file=sys.stderr)
            return 1
    return 0


def add_parsers(sub, processors: tuple[str, ...]) -> None:
    from recon_assets.domain.casework import MANUAL_RESOLUTIONS, Severity
    from recon_assets.domain.findings import names

    exceptions = sub.add_parser("exceptions", help="list, show, assign and resolve discrepancies")
    actions = exceptions.add_subparsers(dest="action", required=True)
    for name, text in (("list", "exceptions matching a filter"), ("show", "one exception and its history"),
                       ("assign", "assign to a person or team"), ("resolve", "resolve with a reason")):  # fmt: skip
        action = actions.add_parser(name, help=text)
        action.add_argument("ids", nargs="*", type=exception_id, help="exception ids (or use the filters)")
        action.add_argument("--processor", choices=processors)
        action.add_argument("--type", choices=names())
        action.add_argument("--state", default="unresolved",
                            choices=("unresolved", "open", "assigned", "resolved", "all"))  # fmt: skip
        action.add_argument("--severity", choices=[s.value for s in Severity])
        action.add_argument("--min-age", type=days, help="days since the business day")
        action.add_argument("--min-amount", type=amount, help="amount at risk, reporting currency")
        action.add_argument("--output", choices=("table", "csv"), default="table")
        if name in ("assign", "resolve"):
            action.add_argument("--note", type=nonempty("the note saying why"), required=name == "resolve")
            action.add_argument("--actor", type=nonempty("the actor"), default=getpass.getuser())
            action.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
        if name == "assign":
            action.add_argument("--to", type=nonempty("the assignee"), required=True, help="person or team")
        if name == "resolve":
            action.add_argument("--resolution", required=True, choices=[r.value for r in MANUAL_RESOLUTIONS])
        action.set_defaults(func=cmd_exceptions)

    match = sub.add_parser("match", help="link records no rule could match (or break such a link), audited")
    match_actions = match.add_subparsers(dest="action", required=True)
    link = match_actions.add_parser("link", help="link processor records and ledger entries that explain each other")
    link.add_argument("--processor", choices=processors, required=True)
    link.add_argument("--transactions", type=_ids, help="processor transaction ids, comma-separated")
    link.add_argument("--ledger", type=_ids, help="ledger ids, comma-separated")
    unlink = match_actions.add_parser("unlink", help="break a manual match: what it resolved is reopened")
    unlink.add_argument("link", type=exception_id, help="the manual match's id (recon match list)")
    for action in (link, unlink):
        action.add_argument("--note", type=nonempty("the note saying why"), required=True)
        action.add_argument("--actor", type=nonempty("the actor"), default=getpass.getuser())
    listing = match_actions.add_parser("list", help="the manual matches in force")
    listing.add_argument("--processor", choices=processors)
    listing.add_argument("--all", action="store_true", help="broken links too")
    match.set_defaults(func=cmd_match)

    record = sub.add_parser("record", help="a landed record exactly as its processor or the ledger sent it")
    record.add_argument(
        "ids",
        nargs="+",
        type=nonempty("the record id"),
        help="processor transaction ids or ledger ids, as findings name them",
    )
    record.set_defaults(func=cmd_record)

    statements = sub.add_parser("statements", help="the bank statement files taken in, and where two disagree")
    statement_actions = statements.add_subparsers(dest="action", required=True)
    files = statement_actions.add_parser("files", help="every file taken in, newest first, with its outcome")
    files.add_argument("--status", choices=("landed", "unchanged", "quarantined"))
    statement_actions.add_parser("conflicts", help="account-days two files stated differently, both named")
    statements.set_defaults(func=cmd_statements)

    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    audit.add_argument("action", choices=("verify", "log"), help="verify the hash chain, or read the log")
    audit.add_argument("--since", type=_day, help="log: rows written from this UTC day on (YYYY-MM-DD)")
    audit.add_argument("--item", type=exception_id, help="log: the rows about one exception (its id)")
    audit.add_argument("--limit", type=positive("a number of rows"), default=200, metavar="N",
                       help="log: at most this many of the latest rows")  # fmt: skip
    audit.add_argument("--published-head", type=audit_head,
                       help="a head hash recorded earlier (e.g. in a daily summary report)")  # fmt: skip
    audit.set_defaults(func=cmd_audit)

"""``recon archive --before D`` and ``recon restore --date D``: old days out of the hot database, and back."""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid


def _carried_out(action):
    """``action(url, store, run_id)`` on the warehouse and the report store; None once it has said why it failed."""
    import dagster as dg

    from recon_assets.definitions import build_definitions
    from recon_assets.services.archive import ArchiveError
    from recon_assets.warehouse.database import prepared_url

    resources = dg.build_resources({"store": build_definitions().resources["report_store"]})
    try:
        with resources as built:
            return action(prepared_url(), built.store, f"cli-{uuid.uuid4()}")
    except ArchiveError as exc:
        print(f"recon: error: {exc}", file=sys.stderr)
        return None


def cmd_archive(args: argparse.Namespace) -> int:
    from recon_assets.services.archive import archive_before

    days = _carried_out(lambda url, store, run_id: archive_before(url, store, args.before, args.actor, run_id))
    if days is None:
        return 1
    print(f"recon: archived {len(days)} day(s) before {args.before}" +
          (f": {days[0]} .. {days[-1]}" if days else ""))  # fmt: skip
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from recon_assets.services.archive import restore_day

    restored = _carried_out(lambda url, store, run_id: restore_day(url, store, args.date, args.actor, run_id))
    if restored is None:
        return 1
    print(f"recon: restored {args.date}: " + ", ".join(f"{table} {rows:,}" for table, rows in restored.items()))
    return 0


def add_parsers(sub, business_date) -> None:
    archive = sub.add_parser("archive", help="copy each day before --before to Parquet in the report store, verify "
                             "it, audit it, then drop the day's partitions")  # fmt: skip
    archive.add_argument("--before", type=business_date, required=True, metavar="YYYY-MM-DD")
    archive.add_argument("--actor", default=getpass.getuser(), help="who archives (audited); default: you")
    archive.set_defaults(func=cmd_archive)
    restore = sub.add_parser("restore", help="bring an archived day back into the database from its copies")
    restore.add_argument("--date", type=business_date, required=True, metavar="YYYY-MM-DD")
    restore.add_argument("--actor", default=getpass.getuser(), help="who restores (audited); default: you")
    restore.set_defaults(func=cmd_restore)

"""The local Dagster instance ``recon`` runs on, and ``recon dev``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_CONFIG = REPO_ROOT / "dagster.yaml"  # the project's instance file; it loads with nothing set


def prepare_instance() -> Path:
    """Make the instance home Dagster's (``$DAGSTER_HOME``, else ``.recon/``), start and migrate the
    warehouse, and return the home.

    A home without a ``dagster.yaml`` gets a link to the project's, so ``recon``, ``dagster dev`` and
    ``dagster asset materialize`` all read one instance file; a home's own file is left alone.
    """
    from recon_assets.warehouse.database import prepared_url
    from recon_assets.warehouse.embedded import instance_home

    home = instance_home()
    config = home / "dagster.yaml"
    if not config.exists() and INSTANCE_CONFIG.exists():  # absent, or a link left dangling by a moved checkout
        # made under a name of its own, then renamed into place: two processes preparing one new home at
        # once both succeed, and neither sees a half-made instance file
        link = home / f".dagster.yaml.{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(INSTANCE_CONFIG, home))
        os.replace(link, config)
    os.environ["DAGSTER_HOME"] = str(home)
    prepared_url()
    return home


def cmd_dev(args: argparse.Namespace) -> int:
    """``dagster dev`` in the project's root, as a Dagster user runs it, once the warehouse is up."""
    from recon_assets.warehouse.database import prepared_url

    if os.environ.get("DAGSTER_HOME"):
        where = f"instance home {prepare_instance()}"
    else:  # Dagster keeps run logs in a temporary home; runs, events and schedules are in the warehouse
        where = f"warehouse {prepared_url().redacted} (set DAGSTER_HOME to keep run logs across restarts)"
    print(f"recon: {where}; UI on http://{args.host}:{args.port}", flush=True)
    command = [sys.executable, "-m", "dagster", "dev", "-h", args.host, "-p", str(args.port)]
    process = subprocess.Popen(command, cwd=REPO_ROOT)  # noqa: S603 - our own interpreter and arguments
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches dagster dev too: let it shut down, then end quietly
        process.wait()
        print("recon: stopped", file=sys.stderr)
        return 130

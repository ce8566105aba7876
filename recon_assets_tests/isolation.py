"""The suite never reads or writes what the user's own runs keep (a pytest plugin, loaded before any test module
imports the project: ``-p recon_assets_tests.isolation`` in ``pyproject.toml``).

The user's settings are unset, so that a developer's ``.env`` (a real key, a bucket, a database) is never used
by a test, and Dagster's home, the embedded warehouse, the reports and the bank statements are under a temporary
folder of the session instead of the checkout's ``.recon/``. Tests that want a setting set it themselves.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

KEPT = {"RECON_TEST_DATABASE_URL", "RECON_REQUIRE_BROWSER", "RECON_SCREENSHOT_DIR"}  # the suite's own switches
# every variable recon reads, as .env.example lists them (and DAGSTER_HOME, which places everything else)
USERS_SETTINGS = re.compile(r"^(RECON_|STRIPE_|PAYPAL_|SQUARE_|LEDGER_|REPORTS_BUCKET$|BANK_STATEMENTS_|"
                            r"OPERATIONS_EMAIL$|ALERT_FROM_EMAIL$|SLACK_WEBHOOK_URL$|DAGSTER_HOME$)")  # fmt: skip

_home: Path | None = None


def pytest_configure(config) -> None:
    global _home
    for name in [n for n in os.environ if USERS_SETTINGS.match(n) and n not in KEPT]:
        del os.environ[name]
    _home = Path(tempfile.mkdtemp(prefix="recon-test-home-"))
    os.environ["DAGSTER_HOME"] = str(_home)


def pytest_unconfigure(config) -> None:
    if _home is None:
        return
    if (_home / "pgdata").exists():  # a test started the zero-set-up warehouse: stopped before its folder goes
        from recon_assets.warehouse.embedded import stop_embedded_server

        stop_embedded_server(_home)
    shutil.rmtree(_home, ignore_errors=True)

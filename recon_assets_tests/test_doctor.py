"""``recon doctor`` names each broken part of a setup on one line, and passes a sound one: the sandbox, a
live setup whose servers misbehave (a wrong key, a wrong base URL, a server that never answers), and a live
setup half configured."""

import time

import pytest

from recon_assets import cli
from recon_assets.cli import doctor
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS
from recon_assets.warehouse.embedded import instance_home
from recon_assets_tests.live import live_env
from recon_assets_tests.misbehaving import MisbehavingProxy


@pytest.fixture
def setup(monkeypatch, warehouse_url, tmp_path):
    """The test's warehouse, instance home and folders; returns a function that sets more of the environment."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECON_DATABASE_URL", warehouse_url.libpq)
    monkeypatch.setenv("RECON_REPORTS_DIR", str(tmp_path / "reports"))

    def with_env(env: dict) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return with_env


def rows(out: str) -> dict[str, str]:
    """part -> result, from the doctor's table."""
    found = {}
    for line in out.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        found[cells[0]] = (cells[1], cells[2], cells[3])
    return found


def test_the_sandbox_passes_every_part(setup, capsys):
    assert cli.main(["doctor"]) == 0
    out, err = capsys.readouterr()
    table = rows(out)
    assert set(table) == {"stripe", "paypal", "square", "ledger", "bank statements", "reports",
                          "alert email (SES)", "warehouse", "dagster storage"}  # fmt: skip
    assert all(mode == "sandbox" and result.startswith("ok: ") for mode, _, result in table.values()), out
    assert table["square"][2] == "ok: GET /v2/locations: 2 locations"
    assert table["warehouse"][2] == "ok: reachable, migrations current"
    assert err == ""
    assert not (instance_home() / "pgdata").exists()  # the test's warehouse, not an embedded one


def test_a_misbehaving_live_setup_is_named_part_by_part(setup, sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "ONE_TRY_SECONDS", 1.0)
    (tmp_path / "bank").mkdir()

    def unauthorised(exchange, n):
        exchange.status, exchange.body = 401, {"error": {"type": "invalid_request_error", "message": "Invalid key"}}

    def silent(exchange, n):
        time.sleep(3)

    with MisbehavingProxy(sandbox.url) as proxy:
        proxy.rules["/v1/balance"] = unauthorised
        proxy.rules["/v1/oauth2/token"] = silent
        setup(live_env({}, sandbox.url, tmp_path / "bank", stripe=proxy.url, paypal=proxy.url,
                       square=f"{sandbox.url}/not-square"))  # fmt: skip
        assert cli.main(["doctor"]) == 1
    out, err = capsys.readouterr()
    table = rows(out)
    assert table["stripe"][:2] == ("live", proxy.url) and table["stripe"][2].startswith("FAILED: ")
    assert table["ledger"] == ("live", sandbox.url, f"ok: GET /v1/transactions: a page of {_yesterday()}")
    # (the proxy's own complaint about the client that gave up on it is on stderr too: not the doctor's)
    lines = {line.split(": ")[1]: line for line in err.splitlines() if line.startswith("recon doctor: ")}
    assert set(lines) == {"stripe", "paypal", "square"}
    assert "HTTP 401" in lines["stripe"] and lines["stripe"].endswith("; check STRIPE_API_KEY")
    assert "HTTP 404" in lines["square"] and lines["square"].endswith(
        "; check SQUARE_API_BASE: nothing answers at that path"
    )
    assert lines["paypal"].endswith("; check PAYPAL_API_BASE is reachable from here")
    for secret in (*SANDBOX_CREDENTIALS["stripe"], *SANDBOX_CREDENTIALS["paypal"]):
        assert secret is None or secret not in out + err


def test_a_half_configured_live_setup_names_each_missing_variable(setup, sandbox, capsys):
    setup({"RECON_MODE": "live", "STRIPE_API_KEY": SANDBOX_CREDENTIALS["stripe"].key, "STRIPE_API_BASE": sandbox.url})
    assert cli.main(["doctor"]) == 1
    out, err = capsys.readouterr()
    assert rows(out)["stripe"][2] == "ok: GET /v1/balance: the account's balance"
    assert [line for line in err.splitlines() if line.startswith("recon doctor: ")] == [
        "recon doctor: paypal: PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET must be set in live mode (RECON_MODE=live); "
        "set it, or RECON_MODE=sandbox",
        "recon doctor: square: SQUARE_ACCESS_TOKEN must be set in live mode (RECON_MODE=live); set it, or "
        "RECON_MODE=sandbox",
        "recon doctor: ledger: LEDGER_API_TOKEN and LEDGER_API_BASE must be set in live mode (RECON_MODE=live); set "
        "it, or RECON_MODE=sandbox",
        "recon doctor: bank statements: BANK_STATEMENTS_BUCKET or RECON_BANK_STATEMENTS_DIR must be set in live mode "
        "(RECON_MODE=live); check BANK_STATEMENTS_BUCKET (s3:ListBucket) or RECON_BANK_STATEMENTS_DIR",
    ]


def _yesterday() -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()

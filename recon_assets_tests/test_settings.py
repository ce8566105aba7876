"""Every setting is checked when the definitions load: a bad one is one line naming the variable and what it
allows, from ``recon``, from the definitions Dagster loads, and before anything runs."""

import os
import subprocess
import sys

import pytest

from recon_assets import cli
from recon_assets.definitions import build_definitions
from recon_assets.settings import validate_settings
from recon_assets.warehouse.embedded import instance_home
from recon_assets.warehouse.urls import ConfigurationError

BAD = [
    ("RECON_PAYOUT_GRACE_BUSINESS_DAYS", "abc", "RECON_PAYOUT_GRACE_BUSINESS_DAYS='abc': the business days a payout "
     "may take to reach the bank, a whole number from 0 to 30"),
    ("RECON_PAYOUT_GRACE_BUSINESS_DAYS", "-1", "a whole number from 0 to 30"),
    ("RECON_PAYOUT_GRACE_BUSINESS_DAYS", "100000", "a whole number from 0 to 30"),
    ("RECON_FEE_TOLERANCE_MINOR", "-5", "RECON_FEE_TOLERANCE_MINOR='-5': how far a fee may be from the schedule, "
     "in minor units, a whole number from 0 to 1000000"),
    ("RECON_SANDBOX_DAILY_VOLUME", "0", "a whole number from 1 to 10000000"),
    ("RECON_FEE_SCHEDULE_JSON", "{not json", "RECON_FEE_SCHEDULE_JSON is not JSON"),
    ("RECON_FEE_SCHEDULE_JSON", '{"strpe": {"USD": {"percent": "2.9"}}}',
     "RECON_FEE_SCHEDULE_JSON: unknown processor 'strpe'; known: stripe, paypal, square"),
    ("RECON_FEE_SCHEDULE_JSON", '{"stripe": {"XYZ": {"percent": "2.9"}}}',
     "RECON_FEE_SCHEDULE_JSON.stripe: 'XYZ' is not an ISO 4217 currency code in upper case"),
    ("RECON_FEE_SCHEDULE_JSON", '{"stripe": {"usd": {"percent": "2.9"}}}', "'usd' is not an ISO 4217 currency"),
    ("RECON_FEE_SCHEDULE_JSON", '{"stripe": {"USD": {"percent": "-1"}}}', "must be >= 0"),
    ("RECON_FX_RATES_JSON", '{"EUR": "0"}', "RECON_FX_RATES_JSON.EUR='0': a rate must be a decimal above 0"),
    ("RECON_FX_RATES_JSON", '["EUR"]', "RECON_FX_RATES_JSON must be a JSON object, got list"),
    ("RECON_TOLERANCE_MINOR_JSON", '{"USD": -1}', "RECON_TOLERANCE_MINOR_JSON.USD=-1: a tolerance is a whole number"),
    ("RECON_MATCHING_RULES_JSON", '{"square": {"exact_referenc": {}}}', "RECON_MATCHING_RULES_JSON: square: unknown"),
    ("RECON_FEE_SCHEDULE_JSON", '{"stripe": {"USD": {"cross_currency_percent": "-1.5"}}}', "must be >= 0"),
    ("RECON_SANDBOX_STRIPE_CONVERTS", "EUR,gbp", "RECON_SANDBOX_STRIPE_CONVERTS='EUR,gbp': 'gbp' is not a currency "
     "to convert into USD"),
    ("RECON_SANDBOX_STRIPE_CONVERTS", "USD", "'USD' is not a currency to convert into USD"),
]  # fmt: skip


@pytest.mark.parametrize(("variable", "value", "said"), BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_a_bad_setting_stops_the_definitions_in_one_line_naming_it(variable, value, said, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as refused:
        build_definitions()
    message = str(refused.value)
    assert said in message and message.startswith(variable) and "\n" not in message


GOOD = {
    "RECON_PAYOUT_GRACE_BUSINESS_DAYS": "0",
    "RECON_FEE_TOLERANCE_MINOR": "3",
    "RECON_FEE_SCHEDULE_JSON": '{"paypal": {"USD": {"percent": "3.49", "fixed_minor": 49}}, '
    '"stripe": {"USD": {"percent": "2.9", "fixed_minor": 30, "cross_currency_percent": "1.5"}}}',
    "RECON_SANDBOX_STRIPE_CONVERTS": "EUR, GBP",
    "RECON_FX_RATES_JSON": '{"USD": "1", "EUR": "1.08"}',
    "RECON_TOLERANCE_MINOR_JSON": '{"JPY": 1}',
}


def test_good_settings_pass(monkeypatch):
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    validate_settings()
    resources = build_definitions().resources
    settings = resources["settlement_settings"]
    assert settings.grace_business_days == 0
    assert settings.schedule().rate("stripe", "USD").fee(10_000, converted=True) == 470  # 4.4 % + 30
    assert resources["stripe_api"].process_config_and_initialize().sandbox_config().stripe_converts == ("EUR", "GBP")


def test_recon_says_it_in_one_line_before_it_runs_anything(monkeypatch, capsys):
    monkeypatch.setenv("RECON_PAYOUT_GRACE_BUSINESS_DAYS", "abc")
    assert cli.main(["run", "--date", "2026-11-20"]) == 2
    assert not (instance_home() / "pgdata").exists()  # no warehouse was started for it
    assert capsys.readouterr().err == (
        "recon: error: RECON_PAYOUT_GRACE_BUSINESS_DAYS='abc': the business days a payout may take to reach the bank, "
        "a whole number from 0 to 30\n"
    )


def test_dagster_names_the_variable_first(monkeypatch):
    result = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "recon_assets.definitions"],
        env={**os.environ, "RECON_FEE_TOLERANCE_MINOR": "-5"}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ConfigurationError: RECON_FEE_TOLERANCE_MINOR='-5': how far a fee may be from the schedule" in (
        result.stdout + result.stderr
    )


def test_a_credential_without_a_mode_is_refused_and_sandbox_mode_reads_none(monkeypatch):
    monkeypatch.setenv("SQUARE_ACCESS_TOKEN", "sq-real-token")
    with pytest.raises(ConfigurationError) as refused:
        build_definitions()
    assert str(refused.value) == (
        "RECON_MODE is not set but SQUARE_ACCESS_TOKEN is: set RECON_MODE=live to read the real services, or "
        "RECON_MODE=sandbox to use the sandbox and ignore the credentials"
    )
    monkeypatch.setenv("RECON_MODE", "sandbox")
    resources = build_definitions().resources
    square = resources["square_api"]
    assert (square.live, square.key, square.is_sandbox) == (False, None, True)  # the token is never read
    assert not resources["settlement_settings"].live and resources["bank_statements"].sandbox_fill
    monkeypatch.setenv("RECON_MODE", "Live")
    with pytest.raises(ConfigurationError, match="^RECON_MODE='Live': sandbox or live$"):
        build_definitions()


def test_live_mode_reads_every_source_for_real_and_never_falls_back_to_the_sandbox(monkeypatch):
    import dagster as dg

    from recon_assets.settings import check_live_run

    monkeypatch.setenv("RECON_MODE", "live")
    monkeypatch.setenv("STRIPE_API_KEY", "sk_live_x")
    resources = build_definitions().resources
    assert resources["stripe_api"].live and not resources["square_api"].is_sandbox
    with pytest.raises(dg.Failure, match="SQUARE_ACCESS_TOKEN must be set in live mode"):
        dg.build_resources({"api": resources["square_api"]}).__enter__().api.client()
    with pytest.raises(ConfigurationError) as refused:
        check_live_run(["stripe", "paypal", "square"])
    assert str(refused.value) == (
        "RECON_MODE=live and these are not set: PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, SQUARE_ACCESS_TOKEN, "
        "LEDGER_API_TOKEN, LEDGER_API_BASE, BANK_STATEMENTS_BUCKET or RECON_BANK_STATEMENTS_DIR, RECON_FX_RATES_JSON"
    )


def test_recon_run_in_live_mode_refuses_before_any_request(monkeypatch, capsys):
    import http.server
    import threading

    requests_seen = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            requests_seen.append(self.path)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for variable, value in {"RECON_MODE": "live", "STRIPE_API_KEY": "sk", "STRIPE_API_BASE": url,
                            "LEDGER_API_TOKEN": "t", "LEDGER_API_BASE": url, "RECON_FX_RATES_JSON": '{"USD": "1"}',
                            "RECON_BANK_STATEMENTS_DIR": "/nonexistent"}.items():  # fmt: skip
        monkeypatch.setenv(variable, value)
    try:
        assert cli.main(["run", "--date", "2026-11-20"]) == 2
    finally:
        server.shutdown()
    assert capsys.readouterr().err == (
        "recon: error: RECON_MODE=live and these are not set: PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, "
        "SQUARE_ACCESS_TOKEN\n"
    )
    assert requests_seen == [] and not (instance_home() / "pgdata").exists()

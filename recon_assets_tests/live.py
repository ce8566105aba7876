"""Live mode against servers on loopback: every source a run reads configured for real (the sandbox's
server, or a misbehaving proxy in front of it, speaking the processors' wire formats), the bank's statement
files delivered into a folder as a real bank's would be, and the rates and fee schedule a user would give."""

import json
from datetime import date, timedelta
from pathlib import Path

from recon_assets.domain.money import SANDBOX_RATES_TO_USD
from recon_assets.domain.settlement import SANDBOX_FEE_RATE
from recon_assets.processors.registry import PROCESSORS, SOURCES
from recon_assets.sandbox.server import SANDBOX_CREDENTIALS
from recon_assets.sandbox.settlement import statement_files
from recon_assets.sandbox.world import SandboxConfig
from recon_assets.services.settlement import windows

# the fee every sandbox processor charges in USD (more on a charge converted into USD), configured as a user would
SANDBOX_FEE_SCHEDULE = {
    p: {"USD": {"percent": str(SANDBOX_FEE_RATE.percent), "fixed_minor": SANDBOX_FEE_RATE.fixed_minor,
                "cross_currency_percent": str(SANDBOX_FEE_RATE.cross_currency_percent)}}
    for p in PROCESSORS
}  # fmt: skip


def deliver_statements(bank: Path, config: SandboxConfig, around: date, after: int = 0) -> Path:
    """The sandbox bank's statement files of the days ``around``'s settlement reads (and ``after`` more)."""
    for offset in range(-windows().lookback, windows().span + after + 1):
        for name, data in statement_files(config, around + timedelta(days=offset)).items():
            (bank / name).parent.mkdir(parents=True, exist_ok=True)
            (bank / name).write_bytes(data)
    return bank


def live_env(env: dict, base_url: str, bank: Path, fee_schedule: dict | None = None, **base_urls: str) -> dict:
    """``env`` in live mode: every source at ``base_url`` (or its own in ``base_urls``) with the sandbox's
    credentials, statements from ``bank``, the sandbox's rates, and ``fee_schedule`` when given."""
    live = {**env, "RECON_MODE": "live", "RECON_BANK_STATEMENTS_DIR": str(bank),
            "RECON_FX_RATES_JSON": json.dumps(SANDBOX_RATES_TO_USD)}  # fmt: skip
    for spec in SOURCES.values():
        key, secret = SANDBOX_CREDENTIALS[spec.name]
        live |= {spec.key_variable: key, spec.base_url_variable: base_urls.get(spec.name, base_url)}
        if spec.secret_variable:
            live[spec.secret_variable] = secret
    if fee_schedule is not None:
        live["RECON_FEE_SCHEDULE_JSON"] = json.dumps(fee_schedule)
    return live

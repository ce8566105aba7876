"""The cash side's settings, and where the bank's statement files arrive:
``s3://$BANK_STATEMENTS_BUCKET/$BANK_STATEMENTS_PREFIX``, or without a bucket a folder
(``RECON_BANK_STATEMENTS_DIR``, default ``<instance home>/bank_statements``, which the sandbox fills)."""

import json
import os
from datetime import UTC, date, datetime
from typing import ClassVar

import dagster as dg
from dagster_aws.s3 import S3Resource

from recon_assets.domain.settlement import (
    DEFAULT_GRACE_BUSINESS_DAYS,
    FeeRate,
    FeeSchedule,
    FeeScheduleError,
    fee_schedule_from_json,
)
from recon_assets.environment import SANDBOX_SETTINGS, from_environment, misconfigured
from recon_assets.file_store import FileStore, StoredFile
from recon_assets.sandbox.settlement import statement_files
from recon_assets.sandbox.world import SandboxConfig, account_config
from recon_assets.services.settlement import configured_grace_business_days
from recon_assets.settings import BANK_STATEMENT_VARIABLES, check_fee_schedule, is_live


class FeeRateConfig(dg.Config):
    """A processor's fee in the currency it is taken in: a percent of the charge (a decimal string), plus
    ``cross_currency_percent`` on a charge converted from another currency, rounded half-up to the minor
    unit, plus a fixed part in minor units."""

    percent: str = str(FeeRate.percent)
    fixed_minor: int = FeeRate.fixed_minor
    cross_currency_percent: str = str(FeeRate.cross_currency_percent)


def fee_schedule_from_environment() -> dict[str, dict[str, FeeRateConfig]]:
    """``RECON_FEE_SCHEDULE_JSON`` as typed config (checked with every setting: known processors, ISO currencies)."""
    raw = os.environ.get("RECON_FEE_SCHEDULE_JSON")
    if not raw:
        return {}
    check_fee_schedule(raw)
    return {p: {c: FeeRateConfig(**r) for c, r in rates.items()} for p, rates in json.loads(raw).items()}


class SettlementSettings(dg.ConfigurableResource):
    """How payouts are held to account; every field can be set from the environment or the launchpad."""

    # a paid payout may reach the bank this many business days after its arrival date before it is missing;
    # set by RECON_PAYOUT_GRACE_BUSINESS_DAYS, read once (services.settlement), as the assets' windows follow it
    grace_business_days: int = DEFAULT_GRACE_BUSINESS_DAYS
    # per processor and currency (RECON_FEE_SCHEDULE_JSON); in sandbox mode every processor also charges
    # the sandbox's own rate in USD (SANDBOX_FEE_RATE); in live mode only what is configured is checked
    fee_schedule: dict[str, dict[str, FeeRateConfig]] = {}
    fee_tolerance_minor: int = 0  # a fee this far from the schedule is not a variance
    live: bool = False

    def schedule(self) -> FeeSchedule:
        try:
            return fee_schedule_from_json({p: {c: r.model_dump() for c, r in rates.items()}
                                           for p, rates in self.fee_schedule.items()}, "fee_schedule",
                                          None if self.live else FeeSchedule.default_currency)  # fmt: skip
        except FeeScheduleError as exc:
            raise misconfigured(str(exc)) from None


class BankStatementFiles(FileStore):
    """The statement files delivered so far, read-only (the sandbox bank's own are written here)."""

    default_folder: ClassVar[str] = "bank_statements"
    # the sandbox bank delivers each day's statements into the folder, generated for these sandbox settings
    # (the processors' own): the default when no source is read for real and no bucket or folder is set
    sandbox_fill: bool = False
    sandbox_seed: int = SandboxConfig.seed
    sandbox_daily_volume: int = SandboxConfig.daily_volume
    sandbox_stripe_converts: str = ""
    live: bool = False  # RECON_MODE=live: the statements must come from a bucket or folder the user named

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_fill and not self.bucket

    def files(self, under: str = "") -> list[StoredFile]:
        if self.live and not (self.bucket or self.local_dir):
            raise misconfigured(f"{' or '.join(BANK_STATEMENT_VARIABLES)} must be set in live mode (RECON_MODE=live)")
        return super().files(under)

    def deliver_sandbox_statements(self, days: list[date]) -> int:
        """The sandbox bank's statement files of ``days`` (those already over), written once; returns how many
        were new. Nothing is delivered where the statements are real."""
        if not self.is_sandbox:
            return 0
        config = account_config(self.sandbox_seed, self.sandbox_daily_volume, self.sandbox_stripe_converts)
        today, written = datetime.now(UTC).date(), 0
        for day in (d for d in days if d < today):
            for name, data in statement_files(config, day).items():
                if not self.exists(name):  # two runs delivering one day write the same bytes, whole
                    self.put(name, data, "application/octet-stream")
                    written += 1
        return written


@dg.definitions
def settlement_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "bank_statements": BankStatementFiles(
                s3=S3Resource(**from_environment(region_name="AWS_REGION", endpoint_url="AWS_ENDPOINT_URL")),
                sandbox_fill=not is_live() and not any(os.environ.get(v) for v in BANK_STATEMENT_VARIABLES),
                live=is_live(),
                **from_environment(
                    bucket="BANK_STATEMENTS_BUCKET",
                    prefix="BANK_STATEMENTS_PREFIX",
                    local_dir="RECON_BANK_STATEMENTS_DIR",
                    **SANDBOX_SETTINGS,
                ),  # fmt: skip
            ),
            "settlement_settings": SettlementSettings(
                fee_schedule=fee_schedule_from_environment(),
                grace_business_days=configured_grace_business_days(),
                live=is_live(),
                **from_environment(fee_tolerance_minor=dg.EnvVar.int("RECON_FEE_TOLERANCE_MINOR")),
            ),
        }
    )

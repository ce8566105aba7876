"""The suite runs beside the user's own instance without reading it: the checkout's ``.recon/`` (Dagster's home,
the embedded warehouse, reports with their published audit heads) and the user's settings stay out of it."""

import os
from pathlib import Path

from dagster_aws.s3 import S3Resource

from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.warehouse.embedded import instance_home
from recon_assets_tests.isolation import USERS_SETTINGS

CHECKOUT = Path(__file__).resolve().parents[1]


def test_the_instance_home_is_the_session_s_own_not_the_checkout_s():
    home = instance_home()
    assert home.name.startswith("recon-test-home-") and CHECKOUT not in home.parents
    assert ReportStore(s3=S3Resource())._path("reports").is_relative_to(home)  # published heads are read from here


def test_no_setting_of_the_user_s_reaches_a_test():
    leaked = [
        n
        for n in os.environ
        if USERS_SETTINGS.match(n) and n not in ("DAGSTER_HOME", "RECON_TEST_DATABASE_URL", "RECON_REQUIRE_BROWSER")
    ]
    assert leaked == []

"""A CRITICAL day, end to end: reports land on S3 (moto server), one email (SES on moto) and one Slack
message arrive, a second sensor pass sends nothing, and the day turned LOW sends one recovery."""

import csv
import io
import json
import re
from datetime import date

import boto3
import dagster as dg
import psycopg
import pytest
import requests
from dagster_aws.s3 import S3Resource

from recon_assets.definitions import build_definitions
from recon_assets.defs.alerting.resources import AlertChannels, SesEmailResource, SlackWebhookResource
from recon_assets.defs.alerting.sensors import check_alerts
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.sandbox.server import SandboxServer
from recon_assets.sandbox.world import FAULT_TYPES, SandboxConfig
from recon_assets_tests.defs.graph import materialize, source_resources
from recon_assets_tests.services import AWS_TEST_CREDENTIALS, MotoServer, SlackListener

DAY = date(2026, 11, 20)
BUCKET = "recon-reports-test"
SENDER = "recon-alerts@example.com"
RECIPIENTS = ["ops@example.com", "finance@example.com"]
STRIPE_DAY = [
    dg.AssetKey(["ledger", "transactions"]),
    *(dg.AssetKey(["stripe", name]) for name in ("raw_transactions", "discrepancies", "reconciliation_summary")),
    dg.AssetKey(["stripe", "reconciliation_report"]),
    dg.AssetKey(["reporting", "daily_summary"]),
]
# a small day: its dispute movements (two booked twice) would tip the ledger over its duplicate rate, a second alert
CRITICAL = SandboxConfig(daily_volume=120, disputes=False).with_fault_rates(missing_in_ledger=0.5)
CLEAN = SandboxConfig(daily_volume=120, near_midnight_rate=0.0, cases_per_kind=0, disputes=False).with_fault_rates(
    **dict.fromkeys(FAULT_TYPES, 0.0)
)


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws(moto):
    moto.reset()
    boto3.client("s3", endpoint_url=moto.url, **AWS_TEST_CREDENTIALS).create_bucket(Bucket=BUCKET)
    boto3.client("ses", endpoint_url=moto.url, **AWS_TEST_CREDENTIALS).verify_email_identity(EmailAddress=SENDER)
    return moto


@pytest.fixture
def slack():
    with SlackListener() as listener:
        yield listener


@pytest.fixture
def wired(resources, aws, slack):
    """The code location's resources with S3, SES and Slack pointing at the local stand-ins."""
    return {
        **resources,
        "report_store": ReportStore(s3=S3Resource(endpoint_url=aws.url, **AWS_TEST_CREDENTIALS), bucket=BUCKET),
        "alert_channels": AlertChannels(
            email=SesEmailResource(
                endpoint_url=aws.url, sender=SENDER, recipients=", ".join(RECIPIENTS), **AWS_TEST_CREDENTIALS
            ),
            slack=SlackWebhookResource(webhook_url=slack.url),
        ),
    }


@pytest.fixture
def home(tmp_path) -> str:
    """A Dagster instance directory that outlives one instance object, as a daemon's does."""
    (tmp_path / "home").mkdir()
    return str(tmp_path / "home")


def run_sensor(instance, resources, cursor):
    definitions = build_definitions()
    sensor_resources = {k: resources[k] for k in ("warehouse", "alert_channels")}
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=definitions.get_repository_def(), resources=sensor_resources
    ) as context:  # a resource of resources (the alert channels) is opened in a context
        check_alerts(context)
        return context.cursor


def materialize_stripe_day(resources, config, instance):
    with SandboxServer(config) as sandbox:
        result = materialize({**resources, **source_resources(sandbox.url)}, DAY, STRIPE_DAY, instance=instance)
    assert result.success
    return result


def test_critical_day_reports_and_alerts_once_then_recovers(wired, aws, slack, warehouse_url, home):
    with dg.instance_for_test(temp_dir=home) as instance:
        result = materialize_stripe_day(wired, CRITICAL, instance)
        risk = next(e for e in result.get_asset_check_evaluations() if e.check_name == "risk_threshold")
        assert not risk.passed and risk.severity == dg.AssetCheckSeverity.ERROR
        assert risk.metadata["risk_level"].value == "CRITICAL"

        # reports on S3, server-side encrypted, with the findings the warehouse holds
        s3 = boto3.client("s3", endpoint_url=aws.url, **AWS_TEST_CREDENTIALS)
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
        assert keys == {
            "reports/2026/11/20/stripe/discrepancies.csv",
            "reports/2026/11/20/stripe/summary.json",
            "reports/2026/11/20/daily_summary.md",
            "reports/2026/11/20/daily_summary.html",
            "reports/2026/11/20/trend.png",
        } | {k for k in keys if re.fullmatch(r"audit/heads/\d{12}\.json", k)}
        assert any(k.startswith("audit/heads/") for k in keys)  # the audit log's head, one file per head
        head = s3.head_object(Bucket=BUCKET, Key="reports/2026/11/20/stripe/discrepancies.csv")
        assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "text/csv"
        rows = list(csv.DictReader(io.StringIO(_get(s3, "reports/2026/11/20/stripe/discrepancies.csv"))))
        with psycopg.connect(warehouse_url.libpq) as conn:
            (stored,) = conn.execute(
                "SELECT count(*) FROM discrepancies WHERE processor_name = 'stripe' AND business_date = %s", (DAY,)
            ).fetchone()
            (missing, uris) = conn.execute(
                "SELECT missing_transaction_count, report_uris FROM reconciliation_runs WHERE processor_name = 'stripe'"
            ).fetchone()
        assert len(rows) == stored and missing >= 50
        assert sum(r["discrepancy_type"] == "missing_in_ledger" for r in rows) >= 50
        summary = json.loads(_get(s3, "reports/2026/11/20/stripe/summary.json"))
        assert summary["reconciliation_summary"]["missing_transaction_count"] == missing
        assert summary["financial_impact"] == {
            "discrepancy_rate": summary["financial_impact"]["discrepancy_rate"],
            "risk_level": "CRITICAL",
            "compliance_status": "non_compliant",
        }
        assert uris["discrepancies_csv"] == f"s3://{BUCKET}/reports/2026/11/20/stripe/discrepancies.csv"
        assert _get(s3, "reports/2026/11/20/trend.png", text=False)[:8] == b"\x89PNG\r\n\x1a\n"
        assert "| Stripe |" in _get(s3, "reports/2026/11/20/daily_summary.md")

        # exactly one email and one Slack message, with the figures and the links
        cursor = run_sensor(instance, wired, None)
        emails = aws.sent_emails()
        assert len(emails) == 1 and len(slack.messages) == 1, [e["subject"] for e in emails]
        (email,) = emails
        assert email["destinations"]["ToAddresses"] == RECIPIENTS and email["source"] == SENDER
        assert email["subject"].startswith("[recon] ERROR stripe 2026-11-20")
        assert "CRITICAL" in email["subject"]
        assert re.search(rf"missing count</th>\s*<td[^>]*>{missing}</td>", email["body"]), email["body"]
        assert "/runs/" in email["body"] and "discrepancies.csv" in email["body"]
        message = slack.messages[0]
        assert message["text"] == email["subject"]
        assert any(f"*missing count*\n{missing}" == f["text"] for b in message["blocks"] for f in b.get("fields", []))

    # a restarted daemon (a new instance object on the same storage, the stored cursor) sends nothing more
    with dg.instance_for_test(temp_dir=home) as instance:
        cursor = run_sensor(instance, wired, cursor)
        assert len(aws.sent_emails()) == 1 and len(slack.messages) == 1

        # the ledger is corrected and the day re-run: LOW, and one recovery message per channel
        result = materialize_stripe_day(wired, CLEAN, instance)
        risk = next(e for e in result.get_asset_check_evaluations() if e.check_name == "risk_threshold")
        assert risk.passed, risk.metadata
        run_sensor(instance, wired, cursor)
        emails = aws.sent_emails()
        assert len(emails) == 2 and len(slack.messages) == 2
        assert emails[1]["subject"].startswith("[recon] RECOVERED stripe 2026-11-20")
        assert slack.messages[1]["text"] == emails[1]["subject"]

    with psycopg.connect(warehouse_url.libpq) as conn:
        audited = conn.execute(
            "SELECT action, details->>'channel', details->>'kind' FROM audit_logs WHERE entity = 'alert' ORDER BY id"
        ).fetchall()
    assert audited == [
        ("alert_sent", "email", "failure"),
        ("alert_sent", "slack", "failure"),
        ("alert_sent", "email", "recovery"),
        ("alert_sent", "slack", "recovery"),
    ]


def test_unconfigured_channels_are_skipped_and_audited(resources, warehouse_url, tmp_path, home):
    with dg.instance_for_test(temp_dir=home) as instance:
        materialize_stripe_day(resources, CRITICAL, instance)
        run_sensor(instance, resources, None)
    with psycopg.connect(warehouse_url.libpq) as conn:
        audited = conn.execute(
            "SELECT action, details->>'channel' FROM audit_logs WHERE entity = 'alert' ORDER BY id"
        ).fetchall()
    assert audited == [("alert_skipped", "email"), ("alert_skipped", "slack")]
    reports = tmp_path / "reports" / "reports" / "2026" / "11" / "20"
    assert (reports / "stripe" / "discrepancies.csv").exists() and (reports / "daily_summary.html").exists()


def _get(s3, key: str, text: bool = True):
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body.decode() if text else body


def test_failed_run_is_announced_once(resources, sandbox, slack, warehouse_url, home):
    from recon_assets.defs.alerting.sensors import run_failure_alerts

    wired = {**resources, **source_resources(sandbox.url, max_attempts=2),
             "alert_channels": AlertChannels(email=SesEmailResource(),
                                             slack=SlackWebhookResource(webhook_url=slack.url))}  # fmt: skip
    fault = {"path_prefix": "/v1/charges", "status": 500, "count": 1000}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=5).raise_for_status()
    with dg.instance_for_test(temp_dir=home) as instance:
        result = materialize(wired, DAY, STRIPE_DAY[:4], raise_on_error=False, instance=instance)
        assert not result.success  # Stripe's API kept failing
        run = instance.get_run_by_id(result.run_id)
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
        sensor_resources = {k: wired[k] for k in ("warehouse", "alert_channels")}
        for _ in range(2):  # the same failure handed over twice (a restarted daemon) is sent once
            with dg.build_run_status_sensor_context(
                sensor_name="run_failure_alerts", dagster_event=failure, dagster_instance=instance,
                dagster_run=run, resources=sensor_resources,
            ).for_run_failure() as context:  # fmt: skip
                run_failure_alerts(context)
    assert len(slack.messages) == 1
    message = slack.messages[0]
    # the processor, from the step that failed (stripe__raw_transactions), not from a run tag nothing sets
    assert message["text"].startswith("[recon] ERROR stripe 2026-11-20: run of __ephemeral_asset_job__ failed")
    assert f"/runs/{result.run_id}" in json.dumps(message)

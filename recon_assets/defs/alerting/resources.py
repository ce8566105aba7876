"""Alert channels: email through Amazon SES and a Slack incoming webhook. Unconfigured means skipped."""

import boto3
import botocore.config
import dagster as dg
import requests
from dagster_aws.utils import ResourceWithBoto3Configuration

from recon_assets.domain.alerts import Alert
from recon_assets.environment import from_environment


class SesEmailResource(ResourceWithBoto3Configuration):
    """SES v2 ``send_email``; credentials, region and endpoint follow dagster-aws's boto3 conventions."""

    sender: str | None = None  # ALERT_FROM_EMAIL
    recipients: str | None = None  # OPERATIONS_EMAIL, comma-separated

    @property
    def configured(self) -> bool:
        return bool(self.sender and self.recipient_list())

    def recipient_list(self) -> list[str]:
        return [address.strip() for address in (self.recipients or "").split(",") if address.strip()]

    def client(self):
        session = boto3.session.Session(profile_name=self.profile_name)
        return session.client(
            "sesv2",
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            use_ssl=self.use_ssl,
            verify=self.verify,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=botocore.config.Config(retries={"max_attempts": self.max_attempts, "mode": "standard"}),
        )

    def send(self, alert: Alert) -> str:
        response = self.client().send_email(
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": self.recipient_list()},
            Content={
                "Simple": {
                    "Subject": {"Data": alert.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": alert.text(), "Charset": "UTF-8"},
                        "Html": {"Data": alert.html(), "Charset": "UTF-8"},
                    },
                }
            },
        )
        return response["MessageId"]


class SlackWebhookResource(dg.ConfigurableResource):
    """A Slack incoming webhook (SLACK_WEBHOOK_URL) receiving Block Kit messages."""

    webhook_url: str | None = None
    timeout_seconds: float = 10.0
    attempts: int = 3

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url)

    def send(self, alert: Alert) -> str:
        last_error: Exception | None = None
        for _ in range(self.attempts):
            try:
                response = requests.post(self.webhook_url, json=alert.slack_payload(), timeout=self.timeout_seconds)
                if response.status_code < 500:
                    response.raise_for_status()
                    return response.text
                last_error = requests.HTTPError(f"Slack answered {response.status_code}")
            except requests.ConnectionError as exc:
                last_error = exc
        raise RuntimeError(f"Slack webhook failed after {self.attempts} attempts: {type(last_error).__name__}")


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go, email and Slack (each skipped while unconfigured), and where their links point: the
    Dagster UI's public address (RECON_UI_URL)."""

    email: SesEmailResource
    slack: SlackWebhookResource
    ui_url: str = "http://127.0.0.1:3000"

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def asset_url(self, asset_path: str, partition: str | None) -> str:
        suffix = f"?partition={partition}" if partition else ""
        return f"{self.ui_url.rstrip('/')}/assets/{asset_path}{suffix}"


@dg.definitions
def alerting_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "alert_channels": AlertChannels(
                email=SesEmailResource(
                    **from_environment(
                        region_name="AWS_REGION",
                        endpoint_url="AWS_ENDPOINT_URL",
                        sender="ALERT_FROM_EMAIL",
                        recipients="OPERATIONS_EMAIL",
                    )
                ),
                slack=SlackWebhookResource(**from_environment(webhook_url="SLACK_WEBHOOK_URL")),
                **from_environment(ui_url="RECON_UI_URL"),
            ),
        }
    )

"""What an alert says, in every channel: subject, plain text, HTML and a Slack Block Kit payload.

Alerts carry figures and links, never a secret, a full card number or a raw payload: every free text
goes through ``redact`` before it is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from recon_assets.domain.risk import RiskLevel
from recon_assets.domain.templating import RISK_COLOURS, render

_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_SECRETS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+"),
    re.compile(r"(?i)\b(password|secret|token|api[_-]?key)=[^&\s]+"),
    re.compile(r"://[^/\s:@]+:[^/\s@]+@"),
)


def redact(text: str) -> str:
    """Mask card numbers (keeping the last four digits) and anything that looks like a credential."""

    def mask_card(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        return f"****{digits[-4:]}"

    text = _CARD_NUMBER.sub(mask_card, text)
    for pattern in _SECRETS:
        text = pattern.sub("[redacted]", text)
    return text


LABEL_COLOURS = {
    "ERROR": RISK_COLOURS[RiskLevel.CRITICAL],
    "WARN": RISK_COLOURS[RiskLevel.MEDIUM],
    "INFO": "#1d4ed8",
    "RECOVERED": RISK_COLOURS[RiskLevel.LOW],
}


class AlertKind(StrEnum):
    FAILURE = "failure"
    RECOVERY = "recovery"
    RUN_FAILURE = "run_failure"
    SLA_BREACH = "sla_breach"


NEXT_STEPS = {
    AlertKind.FAILURE: "Open the day in the Dagster UI, read the check's metadata and the discrepancies report, "
    "then work the largest items first. Re-materialise the day once the ledger or feed is corrected.",
    AlertKind.RECOVERY: "Nothing to do: the latest evaluation passed.",
    AlertKind.RUN_FAILURE: "Open the run in the Dagster UI, read the failed step's error, fix the cause "
    "(credentials, an outage, a quarantined record) and re-execute the failed partition.",
    AlertKind.SLA_BREACH: "Assign the exception to an owner and resolve it with a reason "
    "(recon exceptions resolve, or the resolve_discrepancies job in the Dagster UI).",
}


@dataclass(frozen=True)
class Alert:
    """One message about one (check or run, partition, severity)."""

    kind: AlertKind
    severity: str  # ERROR, WARN or INFO
    title: str  # e.g. "risk_threshold failed: CRITICAL"
    processor: str | None
    business_date: str | None
    facts: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dedup_key: str = ""

    @property
    def subject(self) -> str:
        where = " ".join(part for part in (self.processor, self.business_date) if part)
        return redact(f"[recon] {self.label} {where}: {self.title}".replace("  ", " "))

    @property
    def next_steps(self) -> str:
        return NEXT_STEPS[self.kind]

    def text(self) -> str:
        lines = [self.subject, ""]
        lines += [f"{name}: {value}" for name, value in self.facts.items()]
        lines += ["", f"What to do: {self.next_steps}", ""]
        lines += [f"{name}: {url}" for name, url in self.links.items()]
        return redact("\n".join(lines)) + "\n"

    @property
    def label(self) -> str:
        return "RECOVERED" if self.kind == AlertKind.RECOVERY else self.severity

    def html(self) -> str:
        """The email's HTML, on the daily summary's layout: badges, the facts, what to do, the links."""
        level = self.facts.get("risk level")
        return render(
            "alert.html.j2",
            alert=self,
            label=self.label,
            colour=LABEL_COLOURS.get(self.label, LABEL_COLOURS["INFO"]),
            level=level if level in {r.value for r in RiskLevel} else None,
            facts=[(name, redact(value)) for name, value in self.facts.items()],
        )

    def slack_payload(self) -> dict:
        facts = [{"type": "mrkdwn", "text": f"*{k}*\n{redact(v)}"} for k, v in self.facts.items()]
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.subject[:150]}},
        ]
        # Slack allows at most 10 fields per section.
        blocks += [{"type": "section", "fields": facts[i : i + 10]} for i in range(0, len(facts), 10)]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*What to do:* {self.next_steps}"}})
        if self.links:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"<{url}|{name}>"} for name, url in self.links.items()],
                }
            )
        return {"text": self.subject, "blocks": blocks}

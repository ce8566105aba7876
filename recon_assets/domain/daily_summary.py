"""The day across processors, for a controller: what a page, an email and a Markdown preview all say.

``build_daily_summary`` turns the day's summary rows into a ``DailySummary`` (figures formatted per
currency, the change since the day before, links to each processor's files); ``markdown`` and
``html`` render it. The HTML comes from the Jinja2 templates beside this module, which the alert
email shares: inline styles and no scripts, so a mail client shows it as a browser does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd

from recon_assets.domain.disputes import DEFAULT_DISPUTE_DUE_DAYS, LOST, WON, Dispute, due_soon
from recon_assets.domain.findings import finding_types
from recon_assets.domain.money import display
from recon_assets.domain.risk import RiskLevel
from recon_assets.domain.settlement import CashPosition
from recon_assets.domain.templating import render

MARKER = {RiskLevel.LOW: "🟩", RiskLevel.MEDIUM: "🟨", RiskLevel.HIGH: "🟧", RiskLevel.CRITICAL: "🟥"}  # Markdown
CASH_COLUMNS = {"gross_minor": "Gross", "refunds_minor": "Refunds", "fees_minor": "Fees", "net_minor": "Net",
                "paid_out_minor": "Paid out", "in_transit_minor": "In transit", "on_hold_minor": "On hold"}  # fmt: skip


@dataclass(frozen=True)
class ProcessorDay:
    name: str
    level: RiskLevel
    processor_records: int
    ledger_entries: int
    matched: int
    missing: int
    findings: Mapping[str, int]  # finding type -> open findings
    at_risk: str  # formatted, reporting currency
    volume: str
    files: Sequence[tuple[str, str]] = ()  # (label, link)


@dataclass(frozen=True)
class DailySummary:
    day: date
    currency: str
    level: RiskLevel
    at_risk: str
    missing: int
    processors: Sequence[ProcessorDay]
    changes: Sequence[str]  # since the last day reconciled before it, in words
    compared_with: date | None = None  # that day (None: there is none)
    backlog: Sequence[Mapping[str, str]] = ()  # open exceptions by processor, age and severity
    cash: Sequence[Mapping[str, str]] = ()  # the cash position per processor and currency, formatted
    chart: str | None = None
    audit_head: str | None = None
    mode: str = "sandbox"  # RECON_MODE: generated data, or the real services
    fees_unchecked: Sequence[str] = ()  # "<processor> <currency>" charged with no fee rate configured
    not_reconciled: Sequence[str] = ()  # processors with no reconciliation of the day: its sources not all landed
    disputes: Sequence[Mapping[str, str]] = ()  # per processor: opened, won, lost on the day, open and at stake
    disputes_due: Sequence[Mapping[str, str]] = ()  # the disputes whose response is due soon, earliest first
    # type -> label, in report order; the missing ones are shown in bold
    finding_labels: Mapping[str, str] = field(default_factory=lambda: {k.name: k.label for k in finding_types()})
    missing_types: Sequence[str] = field(default_factory=lambda: [k.name for k in finding_types() if k.missing])

    @property
    def complete(self) -> bool:
        """Every processor's day was reconciled: the level speaks for the whole day."""
        return not self.not_reconciled

    @property
    def since(self) -> str:
        """The day-over-day comparison's subject: the day before, or the last day reconciled, named."""
        if self.compared_with is None or self.compared_with == self.day - timedelta(days=1):
            return "Since the day before"
        return f"Since {self.compared_with.isoformat()}, the last day reconciled before it"

    @property
    def mode_line(self) -> str:
        return (
            "Live mode: the real processors, ledger and bank"
            if self.mode == "live"
            else ("Sandbox mode: generated data, not a real account")
        )

    @property
    def headline(self) -> str:
        count = len(self.processors)
        return f"{self.at_risk} at risk across {count} processor{'s' * (count != 1)}, {self.missing} missing"


NOT_RECONCILED = "its day is not complete: nothing is judged for it, and the level above leaves it out"


def worst_level(runs: Sequence[Mapping]) -> RiskLevel:
    order = list(RiskLevel)
    return max((RiskLevel(r["risk_level"]) for r in runs), key=order.index, default=RiskLevel.LOW)


def _total_at_risk(runs: Sequence[Mapping]) -> Decimal:
    return sum((Decimal(r["total_discrepancy_amount"]) for r in runs), Decimal(0))


def _signed(value: Decimal | int, currency: str | None = None) -> str:
    text = display(abs(value), currency) if currency else f"{abs(value):,}"
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{text}"


def changes_since(runs: Sequence[Mapping], previous: Sequence[Mapping], currency: str, names: Mapping[str, str]):
    """What changed since the day before, in a few short sentences."""
    if not previous:
        return ["no reconciled day before it to compare with"]
    missing = sum(r["missing_transaction_count"] for r in runs) - sum(r["missing_transaction_count"] for r in previous)
    said = [f"{_signed(_total_at_risk(runs) - _total_at_risk(previous), currency)} at risk",
            f"{_signed(missing)} missing"]  # fmt: skip
    before = {r["processor_name"]: RiskLevel(r["risk_level"]) for r in previous}
    for run in runs:
        was, now = before.get(run["processor_name"]), RiskLevel(run["risk_level"])
        if was is not None and was != now:
            said.append(f"{names.get(run['processor_name'], run['processor_name'])} {was.value} → {now.value}")
    return said


def _backlog(aging: pd.DataFrame | None, currency: str, names: Mapping[str, str]) -> list[dict[str, str]]:
    if aging is None or aging.empty:
        return []
    return [
        {
            "Processor": names.get(row.processor_name, row.processor_name),
            "Open for (days)": str(row.age_bucket).replace("-", "–"),
            "Severity": str(row.severity).capitalize(),
            "Open": f"{int(row.open_count):,}",
            "At risk": display(row.amount_at_risk, currency),
        }
        for row in aging.itertuples()
    ]


def _cash(positions: Sequence[CashPosition], names: Mapping[str, str]) -> list[dict[str, str]]:
    """The cash rows; where some volume was converted, a column gives each position's charges in the
    currencies they were presented in."""
    converted = any(c != p.currency for p in positions for c, _ in p.presented)
    return [
        {"Processor": names.get(p.processor, p.processor), "Currency": p.currency,
         **{label: display(getattr(p, column), p.currency, minor=True) for column, label in CASH_COLUMNS.items()},
         **({"Presented as": " · ".join(display(amount, c, minor=True) for c, amount in p.presented)}
            if converted else {})}
        for p in positions
    ]  # fmt: skip


def _disputes(open_on_day: Sequence[Dispute], day: date, names: Mapping[str, str]) -> list[dict[str, str]]:
    """Per processor, the day's disputes: opened, won and lost on it, still open at its end and at stake."""
    rows = []
    for processor in sorted({d.processor for d in open_on_day}):
        mine = [d for d in open_on_day if d.processor == processor]
        still_open = [d for d in mine if d.closed_on is None]
        stake: dict[str, int] = {}
        for d in still_open:
            stake[d.currency] = stake.get(d.currency, 0) + d.amount_minor
        rows.append({
            "Processor": names.get(processor, processor),
            "Opened": f"{sum(d.opened_on == day for d in mine):,}",
            "Won": f"{sum(d.closed_on == day and d.outcome == WON for d in mine):,}",
            "Lost": f"{sum(d.closed_on == day and d.outcome == LOST for d in mine):,}",
            "Open": f"{len(still_open):,}",
            "At stake": " · ".join(display(a, c, minor=True) for c, a in sorted(stake.items())) or "–",
        })  # fmt: skip
    return rows


def _disputes_due(due: Sequence[Dispute], names: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        {"Processor": names.get(d.processor, d.processor), "Dispute": d.reference, "Payment": d.payment or "–",
         "Amount": display(d.amount_minor, d.currency, minor=True), "Status": d.status,
         "Due by": d.due_by.strftime("%Y-%m-%d %H:%M UTC")}
        for d in due
    ]  # fmt: skip


def build_daily_summary(
    day: date,
    runs: Sequence[Mapping],
    previous: Sequence[Mapping],
    currency: str,
    *,
    names: Mapping[str, str],
    files: Mapping[str, Sequence[tuple[str, str]]],
    aging: pd.DataFrame | None = None,
    chart: str | None = None,
    audit_head: str | None = None,
    cash: Sequence[CashPosition] = (),
    mode: str = "sandbox",
    fees_unchecked: Sequence[tuple[str, str]] = (),
    disputes: Sequence[Dispute] = (),
    dispute_due_days: int = DEFAULT_DISPUTE_DUE_DAYS,
) -> DailySummary:
    """The day's summary rows (reconciliation_runs) and the day before's, its cash position, and the disputes
    open on it, as a controller reads them."""
    processors = [
        ProcessorDay(
            name=names.get(run["processor_name"], run["processor_name"]),
            level=RiskLevel(run["risk_level"]),
            processor_records=int(run["processor_transaction_count"]),
            ledger_entries=int(run["internal_transaction_count"]),
            matched=int(run["matched_count"]),
            missing=int(run["missing_transaction_count"]),
            findings={kind.name: int(run["finding_counts"].get(kind, 0)) for kind in finding_types()},
            at_risk=display(run["total_discrepancy_amount"], currency),
            volume=display(run["total_volume_processed"], currency),
            files=files.get(run["processor_name"], ()),
        )
        for run in runs
    ]
    return DailySummary(
        day=day,
        currency=currency,
        level=worst_level(runs),
        at_risk=display(_total_at_risk(runs), currency),
        missing=sum(p.missing for p in processors),
        processors=processors,
        changes=changes_since(runs, previous, currency, names),
        compared_with=previous[0]["run_date"] if previous else None,
        backlog=_backlog(aging, currency, names),
        cash=_cash(cash, names),
        chart=chart,
        audit_head=audit_head,
        mode=mode,
        fees_unchecked=[f"{names.get(p, p)} {c}" for p, c in fees_unchecked],
        not_reconciled=[name for p, name in names.items() if p not in {run["processor_name"] for run in runs}],
        disputes=_disputes(disputes, day, names),
        disputes_due=_disputes_due(due_soon(disputes, day, dispute_due_days), names),
    )


NOT_RECONCILED_BADGE, NOT_RECONCILED_COLOUR = "NOT RECONCILED", "#6b7280"


def _badge_md(level: RiskLevel | None) -> str:
    """A level's badge; None is a day not reconciled."""
    return f"⬜ **{NOT_RECONCILED_BADGE}**" if level is None else f"{MARKER[level]} **{level.value}**"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(summary: DailySummary) -> str:
    lines = [f"# Reconciliation summary for {summary.day.isoformat()}", "", f"_{summary.mode_line}_", "",
             f"{_badge_md(summary.level if summary.complete else None)} · {summary.headline}", "",
             *([f"**Not reconciled:** {', '.join(summary.not_reconciled)} ({NOT_RECONCILED})", ""]
               if summary.not_reconciled else []),
             f"{summary.since}: {'; '.join(summary.changes)}.", ""]  # fmt: skip
    if summary.processors or summary.not_reconciled:
        lines += _md_table(
            ("Processor", "Risk", "Records (processor / ledger)", "Missing", "At risk", "Files"),
            [(p.name, _badge_md(p.level), f"{p.processor_records:,} / {p.ledger_entries:,}", f"{p.missing:,}",
              p.at_risk, " · ".join(f"[{label}]({link})" for label, link in p.files) or "–")
             for p in summary.processors]
            + [(name, _badge_md(None), "–", "–", "–", "–") for name in summary.not_reconciled],
        )  # fmt: skip
    if not summary.processors:
        lines += ["", "_No processor was reconciled for this day._", ""]
    else:
        lines += ["", "## Findings by type", ""]
        lines += _md_table(
            ("Finding", *(p.name for p in summary.processors)),
            [(label, *(f"{p.findings[kind]:,}" for p in summary.processors))
             for kind, label in summary.finding_labels.items()]
            + [("Matched", *(f"{p.matched:,}" for p in summary.processors)),
               ("Volume", *(p.volume for p in summary.processors))],
        )  # fmt: skip
    if summary.cash:
        lines += ["", "## Cash position", ""]
        lines += _md_table(tuple(summary.cash[0]), [tuple(row.values()) for row in summary.cash])
    if summary.fees_unchecked:
        lines += ["", f"Fees not checked (no rate configured): {', '.join(summary.fees_unchecked)}."]
    if summary.disputes:
        lines += ["", "## Disputes", ""]
        lines += _md_table(tuple(summary.disputes[0]), [tuple(row.values()) for row in summary.disputes])
        if summary.disputes_due:
            lines += ["", "**Response due soon** (a dispute not answered in time is lost):", ""]
            lines += _md_table(tuple(summary.disputes_due[0]), [tuple(r.values()) for r in summary.disputes_due])
    if summary.backlog:
        lines += ["", "## Open exceptions by age", ""]
        lines += _md_table(tuple(summary.backlog[0]), [tuple(row.values()) for row in summary.backlog])
    if summary.chart:
        lines += ["", f"![Amount at risk and missing transactions, last 30 days]({summary.chart})"]
    if summary.audit_head:
        lines += ["", f"Audit log head: `{summary.audit_head}` (`recon audit verify` checks the log against it)"]
    return "\n".join(lines) + "\n"


def html(summary: DailySummary) -> str:
    return render(
        "daily_summary.html.j2",
        summary=summary,
        not_reconciled_reason=NOT_RECONCILED,
        not_reconciled_badge=NOT_RECONCILED_BADGE,
        not_reconciled_colour=NOT_RECONCILED_COLOUR,
    )

"""Disputes as a working list: kept as the processor last described them, and the ones due listed by a check."""

import logging
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from recon_assets import asset_keys
from recon_assets.defs.disputes.assets import RESPONSE_DUE
from recon_assets.domain.disputes import Dispute
from recon_assets.sandbox.world import world
from recon_assets.services.alerts import ITEMS, alert_on_checks
from recon_assets.warehouse.disputes import disputes_open_on, keep_disputes
from recon_assets_tests.defs.graph import materialize

DAY = date(2026, 11, 20)


def test_a_day_keeps_its_disputes_and_the_check_lists_those_due_soon(resources, sandbox_config, warehouse_url,
                                                                     tmp_path):  # fmt: skip
    key = asset_keys.disputes("paypal")
    result = materialize(resources, DAY, [key])
    planted = world(sandbox_config, "paypal", DAY).disputes.disputes
    with psycopg.connect(warehouse_url.libpq) as conn:
        rows = conn.execute(
            "SELECT dispute_id, payment_id, amount_minor, status, outcome, closed_on FROM disputes ORDER BY 1"
        ).fetchall()
    assert rows == sorted(
        (d.dispute_id, d.payment_id, d.amount_minor, d.status,
         {"RESOLVED_BUYER_FAVOUR": "lost", "RESOLVED_SELLER_FAVOUR": "won"}.get(d.outcome_code),
         DAY if d.status == "RESOLVED" else None) for d in planted
    )  # fmt: skip
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == RESPONSE_DUE and not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    due = [d.dispute_id for d in sorted(planted, key=lambda d: d.due_by or datetime.max.replace(tzinfo=UTC))
           if d.due_by is not None and d.due_by.date() <= DAY + timedelta(days=3)]  # fmt: skip
    assert len(due) == 2  # due tomorrow, and the inquiry due in two days; the one due in ten days is not
    assert check.metadata[ITEMS].value == due
    assert all(reference in check.metadata["due"].value for reference in due)
    # the daily summary's Disputes block: the day's counts and what is due soon
    assert materialize(resources, DAY, [asset_keys.DAILY_SUMMARY]).success
    page = next(tmp_path.rglob("2026/11/20/daily_summary.md")).read_text()
    block = page[page.index("## Disputes") :]
    opened = sum(d.created.date() == DAY for d in planted)
    won = sum(d.outcome_code == "RESOLVED_SELLER_FAVOUR" for d in planted)
    lost = sum(d.outcome_code == "RESOLVED_BUYER_FAVOUR" for d in planted)
    still_open = [d for d in planted if d.status != "RESOLVED"]
    at_stake = f"{sum(d.amount_minor for d in still_open) / 100:,.2f}"
    assert f"| PayPal | {opened} | {won} | {lost} | {len(still_open)} | {at_stake} USD |" in block, block
    assert "Response due soon" in block and all(reference in block for reference in due)
    # the day before, backfilled after: what was due then, by what is known now. The dispute due tomorrow was
    # open and due within three days then too; the inquiry opened on the day was not open yet
    inquiry, tomorrow = (next(d.dispute_id for d in planted if d.due_by and d.due_by.date() == DAY + timedelta(days=k))
                         for k in (2, 1))  # fmt: skip
    before = materialize(resources, DAY - timedelta(days=1), [key]).get_asset_check_evaluations()[0]
    listed = before.metadata[ITEMS].value
    assert tomorrow in listed and inquiry not in listed
    # idempotent: the day again leaves the same rows
    materialize(resources, DAY, [key])
    with psycopg.connect(warehouse_url.libpq) as conn:
        assert conn.execute("SELECT count(*) FROM disputes WHERE dispute_id = ANY(%s)",
                            ([d.dispute_id for d in planted],)).fetchone() == (len(planted),)  # fmt: skip


@pytest.mark.parametrize("processor", ["stripe", "square"])
def test_stripe_and_square_disputes_are_kept_and_those_due_listed(resources, sandbox_config, warehouse_url, processor):
    """Stripe's from the day's dispute events, Square's from its whole list: the day's disputes kept, and the
    two waiting on the merchant due within three days listed, earliest first."""
    result = materialize(resources, DAY, [asset_keys.disputes(processor)])
    planted = world(sandbox_config, processor, DAY).disputes.disputes
    with psycopg.connect(warehouse_url.libpq) as conn:
        kept = dict(conn.execute(
            "SELECT dispute_id, status FROM disputes WHERE processor_name = %s", (processor,)
        ).fetchall())  # fmt: skip
    assert {d.dispute_id: d.status for d in planted}.items() <= kept.items()
    (check,) = result.get_asset_check_evaluations()
    due = [d.dispute_id for d in sorted(planted, key=lambda d: d.due_by or datetime.max.replace(tzinfo=UTC))
           if d.due_by is not None and d.due_by.date() <= DAY + timedelta(days=3)]  # fmt: skip
    assert len(due) == 2 and not check.passed and check.metadata[ITEMS].value == due


def test_a_status_is_never_replaced_by_an_older_one(warehouse_url):
    """A backfill of an earlier day reads a dispute as it was then: the later status stays."""
    opened = datetime(2026, 11, 1, 9, tzinfo=UTC)
    waiting = Dispute("paypal", "PP-D-1", "PAY1", 5_000, "USD", "UNAUTHORISED", "WAITING_FOR_SELLER_RESPONSE",
                      "CHARGEBACK", opened + timedelta(days=10), opened.date(), opened + timedelta(days=1))  # fmt: skip
    resolved = Dispute("paypal", "PP-D-1", "PAY1", 5_000, "USD", "UNAUTHORISED", "RESOLVED", "CHARGEBACK", None,
                       opened.date(), opened + timedelta(days=5), "won")  # fmt: skip
    with psycopg.connect(warehouse_url.libpq) as conn:
        assert keep_disputes(conn, [resolved], date(2026, 11, 6), "run-2") == 1
        assert keep_disputes(conn, [waiting], date(2026, 11, 2), "run-1") == 0
        (kept,) = disputes_open_on(conn, date(2026, 11, 6))
        assert (kept.status, kept.outcome, kept.closed_on) == ("RESOLVED", "won", date(2026, 11, 6))
        assert disputes_open_on(conn, date(2026, 11, 7)) == []  # closed the day before


def test_each_dispute_due_is_announced_once_whichever_days_list_it(resources, sandbox_config, warehouse_url, tmp_path):
    """A dispute due on the 21st is listed by the 20th's check and the 21st's: one alert names it, the next names
    only the disputes new to the list."""
    key = asset_keys.disputes("paypal")
    check_keys = [dg.AssetCheckKey(key, RESPONSE_DUE)]
    alerted, cursor = [], None
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance, dg.build_resources(
        {name: resources[name] for name in ("warehouse", "alert_channels")}
    ) as built:  # fmt: skip
        for day in (DAY, DAY + timedelta(days=1)):
            assert materialize(resources, day, [key], instance=instance).success
            cursor, _ = alert_on_checks(instance, check_keys, cursor, built.warehouse, built.alert_channels,
                                        logging.getLogger("test"))  # fmt: skip
    with psycopg.connect(warehouse_url.libpq) as conn:
        alerted = [entity.rsplit("|", 1)[1].split("+") for entity, _ in conn.execute(
            "SELECT DISTINCT entity_id, min(id) FROM audit_logs WHERE entity = 'alert' GROUP BY 1 ORDER BY 2"
        ).fetchall()]  # fmt: skip
    due = {
        day: [
            d.dispute_id
            for d in sorted(
                world(sandbox_config, "paypal", day).disputes.disputes,
                key=lambda d: d.due_by or datetime.max.replace(tzinfo=UTC),
            )
            if d.due_by and d.due_by.date() <= day + timedelta(days=3)
        ]
        for day in (DAY, DAY + timedelta(days=1))
    }
    assert alerted == [due[DAY], due[DAY + timedelta(days=1)]]  # the 20th's two, then only the 21st's own two

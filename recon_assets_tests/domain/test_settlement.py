"""The three-way match on plain records: each fault of issue 14's list, found exactly once, and nothing
flagged while a payout is still in transit."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from recon_assets.domain.settlement import (
    BY_AMOUNT,
    BY_REFERENCE,
    CHARGE,
    CHARGEBACK,
    DISPUTE_FEE,
    SANDBOX_FEE_RATE,
    Activity,
    BankLine,
    CashPosition,
    ChargeFee,
    FeeRate,
    FeeSchedule,
    FeeScheduleError,
    Payout,
    PayoutItem,
    add_business_days,
    cash_positions,
    composition_findings,
    fee_schedule_from_json,
    fee_variances,
    negative_payouts,
    paid_out_not_booked,
    processor_named,
    settle_day,
    tie_out,
)

PROCESSORS = ("stripe", "paypal", "square")
FRIDAY = date(2026, 11, 20)


def payout(pid, amount, arrival=FRIDAY, trace=None, paid=True, processor="stripe", itemised=False):
    return Payout(processor, pid, amount, "USD", arrival, paid, trace, itemised)


def line(lid, amount, booked, text="STRIPE TRANSFER", reference=None):
    return BankLine(lid, f"BR{lid}", booked, amount, "USD", text, reference)


def kinds(result):
    return {(f.discrepancy_type, f.payout_id, f.bank_reference) for f in result.findings}


def test_business_days_skip_the_weekend_and_processors_are_named_in_any_case():
    assert add_business_days(FRIDAY, 2) == date(2026, 11, 24)  # Friday + 2 business days = Tuesday
    assert add_business_days(date(2026, 11, 23), 2) == date(2026, 11, 25)
    assert processor_named("ACH CREDIT Stripe Payments UK", PROCESSORS) == "stripe"
    assert processor_named("PAYROLL", PROCESSORS) is None


def test_each_fault_is_found_once_and_a_payout_in_transit_is_not():
    payouts = [
        payout("po_ok", 10_000, trace="T1"),
        payout("po_late", 20_000),  # booked by the bank a business day after its arrival date: matched
        payout("po_fee", 30_000, trace="T3"),  # the bank deducted its fee: credited 29,985
        payout("po_missing", 40_000),  # never reaches the bank
        payout("po_failed", 50_000, paid=False),  # failed: no credit is expected
        payout("po_debit", -103, processor="square"),  # money taken back from the seller: no credit either
        payout("po_square", 60_000, processor="square"),
    ]
    lines = [
        line("1", 10_000, FRIDAY, reference="T1"),
        line("2", 20_000, date(2026, 11, 23)),
        line("3", 29_985, FRIDAY, reference="T3"),
        line("4", 60_000, FRIDAY, text="Square Inc"),
        line("5", 60_000, FRIDAY, text="SQUARE INC"),  # the same credit again: unexplained, the later line
        line("6", 7_000, FRIDAY, text="STRIPE"),  # no payout explains it
        line("7", 9_999, FRIDAY, text="RENT"),  # not a processor's: not ours to explain
    ]
    before = tie_out(payouts, lines, as_of=date(2026, 11, 24), processors=PROCESSORS)
    assert "po_missing" in before.in_transit  # Friday + 2 business days is Tuesday: still in transit
    assert kinds(before) == {
        ("payout_amount_mismatch", "po_fee", "BR3"),
        ("unexplained_bank_credit", None, "BR5"),
        ("unexplained_bank_credit", None, "BR6"),
    }
    after = tie_out(payouts, lines, as_of=date(2026, 11, 25), processors=PROCESSORS)
    assert kinds(after) == kinds(before) | {("payout_not_in_bank", "po_missing", None)}
    assert {(m.payout_id, m.line_id, m.method) for m in after.matches} == {
        ("po_ok", "1", BY_REFERENCE), ("po_late", "2", BY_AMOUNT), ("po_fee", "3", BY_REFERENCE),
        ("po_square", "4", BY_AMOUNT),
    }  # fmt: skip
    (fee,) = [f for f in after.findings if f.discrepancy_type == "payout_amount_mismatch"]
    assert (fee.at_risk_minor, fee.expected_minor, fee.actual_minor, fee.business_date) == (15, 30_000, 29_985, FRIDAY)


def test_a_line_with_a_reference_is_only_matched_by_it():
    lines = [line("1", 10_000, FRIDAY, reference="SOMEONE-ELSES")]
    result = tie_out([payout("po_a", 10_000)], lines, as_of=date(2026, 12, 1), processors=PROCESSORS)
    assert kinds(result) == {("payout_not_in_bank", "po_a", None), ("unexplained_bank_credit", None, "BR1")}


def test_composition_and_money_received_but_never_booked():
    payouts = [payout("po_a", 1_000), payout("po_b", 2_000), payout("po_c", 500, processor="paypal")]
    items = [PayoutItem("po_a", "ch_1", 700, CHARGE), PayoutItem("po_a", "ch_2", 300, CHARGE),
             PayoutItem("po_a", "dp_1", -1_500, CHARGEBACK, -1_000, 500), PayoutItem("po_a", "ch_4", 1_500, CHARGE),
             PayoutItem("po_b", "ch_3", 1_990, CHARGE), PayoutItem("po_b", None, 0)]  # fmt: skip
    (off,) = composition_findings(payouts, items)  # po_c, a PayPal withdrawal, has no items: not checked
    assert (off.payout_id, off.at_risk_minor) == ("po_b", 10)
    # a dispute's fee rides on its withdrawal's item: the item settled the withdrawal, not the fee
    unbooked = {("ch_2", CHARGE): (320, "USD"), ("ch_9", CHARGE): (1, "USD"), ("dp_1", DISPUTE_FEE): (-500, "USD")}
    (found,) = paid_out_not_booked(payouts, items, unbooked)
    assert (found.discrepancy_type, found.processor_txn_id, found.payout_id, found.kind) == (
        "paid_out_not_booked", "ch_2", "po_a", CHARGE,
    )  # fmt: skip


def test_a_live_schedule_checks_only_the_rates_configured():
    live = FeeSchedule({"paypal": {"EUR": FeeRate(Decimal("3.4"), 35)}}, default_currency=None)
    charges = [
        ChargeFee("stripe", "ch_usd", FRIDAY, 1_000, "USD", 99),
        ChargeFee("paypal", "p_eur", FRIDAY, 1_000, "EUR", 0),
    ]
    assert [f.processor_txn_id for f in fee_variances(charges, live)] == ["p_eur"]  # USD: no rate, not checked
    assert live.unchecked([("stripe", "USD"), ("paypal", "EUR"), ("stripe", "USD")]) == [("stripe", "USD")]
    assert FeeSchedule().unchecked([("stripe", "USD"), ("stripe", "EUR")]) == [("stripe", "EUR")]  # the sandbox's


def test_an_itemised_payout_without_items_and_a_payout_taken_from_the_bank_are_findings():
    payouts = [
        payout("po_auto", 1_000, itemised=True),  # automatic, yet no item came: its items sum to nothing
        payout("po_manual", 2_000),  # a manual payout: the processor lists no items for it
        payout("po_failed", 3_000, paid=False, itemised=True),  # failed: nothing to add up
        payout("sq_debit", -4_500, processor="square", itemised=True),
    ]
    items = [PayoutItem("sq_debit", None, -4_500)]
    assert [
        (f.payout_id, f.expected_minor, f.actual_minor, f.at_risk_minor) for f in composition_findings(payouts, items)
    ] == [("po_auto", 1_000, 0, 1_000)]
    (debit,) = negative_payouts(payouts)
    assert (debit.discrepancy_type, debit.payout_id, debit.at_risk_minor, debit.expected_minor) == (
        "negative_payout", "sq_debit", 4_500, -4_500,
    )  # fmt: skip


def test_fees_against_the_schedule_rounded_half_up():
    assert FeeRate().fee(1_000) == 59  # 2.9 % of 10.00 is 0.29, + 0.30
    assert FeeRate().fee(50) == 31  # 1.45 rounds half-up to 1
    schedule = FeeSchedule({"paypal": {"EUR": FeeRate(Decimal("3.4"), 35)}})
    charges = [
        ChargeFee("stripe", txn, FRIDAY, 1_000, currency, fee)  # fmt: skip
        for txn, currency, fee in (("ch_ok", "USD", 59), ("ch_cent", "USD", 60), ("ch_jpy", "JPY", 99))
    ]
    assert [(f.processor_txn_id, f.expected_minor, f.actual_minor) for f in fee_variances(charges, schedule)] == [
        ("ch_cent", 59, 60)
    ]  # JPY has no rate: not checked
    assert fee_variances(charges, schedule, tolerance_minor=1) == []
    paypal_eur = ChargeFee("paypal", "p", FRIDAY, 1_000, "EUR", 0)
    assert [f.expected_minor for f in fee_variances([paypal_eur], schedule)] == [69]


def test_a_converted_charge_is_checked_in_the_settlement_currency_with_the_cross_currency_surcharge():
    schedule = fee_schedule_from_json(
        {"stripe": {"USD": {"percent": "2.9", "fixed_minor": 30, "cross_currency_percent": "1.5"}}}, "FEES", None
    )
    # 108.43 USD settled from a EUR charge: (2.9 + 1.5) % of 10,843 is 477.092, rounded once to 477, + 30
    assert schedule.rate("stripe", "USD").fee(10_843, converted=True) == 507
    assert schedule.rate("stripe", "USD").fee(10_843) == 344  # presented in USD: 314.447 -> 314, + 30
    charges = [
        ChargeFee("stripe", "ch_eur", FRIDAY, 10_843, "USD", 507, converted=True),
        ChargeFee("stripe", "ch_gbp", FRIDAY, 10_843, "USD", 344, converted=True),  # charged as if not converted
        ChargeFee("stripe", "ch_usd", FRIDAY, 10_843, "USD", 344),
    ]
    (off,) = fee_variances(charges, schedule)
    assert (off.processor_txn_id, off.currency, off.expected_minor, off.actual_minor) == ("ch_gbp", "USD", 507, 344)
    without = fee_schedule_from_json({"stripe": {"USD": {"percent": "2.9", "fixed_minor": 30}}}, "FEES", None)
    assert without.rate("stripe", "USD").fee(10_843, converted=True) == 344  # no surcharge configured: none
    with pytest.raises(FeeScheduleError, match="FEES.stripe.USD"):
        fee_schedule_from_json({"stripe": {"USD": {"cross_currency_percent": "x"}}}, "FEES")


def test_a_fee_schedule_is_read_from_configuration_and_refuses_what_cannot_apply():
    schedule = fee_schedule_from_json({"stripe": {"usd": {"percent": "3.1", "fixed_minor": 25}}}, "FEES")
    assert schedule.rate("stripe", "USD") == FeeRate(Decimal("3.1"), 25)
    assert schedule.rate("square", "USD") == SANDBOX_FEE_RATE  # the sandbox's elsewhere
    for bad in ({"stripe": {"USD": {"percent": "-1"}}}, {"stripe": {"USD": {"pct": 1}}}, {"stripe": 3}):
        with pytest.raises(FeeScheduleError, match="FEES.stripe"):
            fee_schedule_from_json(bad, "FEES")


def test_a_day_keeps_its_own_findings_and_a_late_credit_naming_its_payout_matches_it():
    monday = date(2026, 11, 23)
    payouts = [payout("po_fri", 1_000, trace="T1"), payout("po_mon", 2_000, arrival=monday),
               payout("po_untraced", 3_000)]  # fmt: skip
    lines = [line("1", 1_000, date(2026, 11, 25), reference="T1"),  # the day after Friday's window closed
             line("2", 2_000, monday), line("3", 3_000, date(2026, 11, 25))]  # fmt: skip
    args = {"schedule": FeeSchedule(), "as_of": date(2026, 12, 1), "processors": PROCESSORS}
    friday = settle_day(FRIDAY, payouts, [], lines, {}, [], **args)
    # the late credit carries Friday's trace id: it is that payout's; an untraced one late is not matched
    assert kinds(friday) == {("payout_not_in_bank", "po_untraced", None)}
    assert [(m.payout_id, m.method) for m in friday.matches] == [("po_fri", BY_REFERENCE)]
    late_day = settle_day(date(2026, 11, 25), payouts, [], lines, {}, [], **args)
    assert kinds(late_day) == {("unexplained_bank_credit", None, "BR3")}
    assert [p.payout_id for p in late_day.arrived_late] == ["po_fri"]  # Friday's "not in bank" is answered
    assert [(m.payout_id, m.method) for m in settle_day(monday, payouts, [], lines, {}, [], **args).matches] == [
        ("po_mon", BY_AMOUNT)
    ]


def test_the_cash_position_adds_the_day_s_activity_and_its_payouts_by_state():
    activity = [
        Activity("stripe", "USD", "USD", 6_000, -1_000, 200, 6_000),
        Activity("stripe", "USD", "EUR", 4_000, 0, 120, 3_700),  # EUR charges converted and settled in USD
        Activity("paypal", "EUR", "EUR", 5_000, 0, 180, 5_000),
    ]
    arriving = [payout("po_a", 4_000), payout("po_b", 2_500), payout("po_c", 700), payout("po_d", 50, paid=False)]
    positions = cash_positions(activity, arriving, matched=["po_a"], in_transit=["po_b"])
    assert positions == [
        CashPosition("paypal", "EUR", 5_000, 0, 180, 4_820, presented=(("EUR", 5_000),)),
        CashPosition(
            "stripe",
            "USD",
            10_000,
            -1_000,
            320,
            8_680,
            paid_out_minor=4_000,
            in_transit_minor=2_500,
            presented=(("EUR", 3_700), ("USD", 6_000)),
        ),  # fmt: skip
    ]  # po_c was found missing and po_d failed: neither paid out nor in transit


def test_two_automatic_payouts_of_a_day_settling_several_presentment_currencies_in_usd_raise_nothing():
    """A Stripe account that settles EUR and GBP charges in USD: two USD payouts arrive on one day, each
    mixing charges presented in USD, EUR and GBP at their settled amounts; they add up, reach the bank in USD
    and were charged the schedule's fee in USD (the cross-currency part on the converted ones)."""
    schedule = FeeSchedule({"stripe": {"USD": FeeRate(Decimal("2.9"), 30, Decimal("1.5"))}}, default_currency=None)
    rate = schedule.rate("stripe", "USD")
    eur, gbp = Decimal("1.084213"), Decimal("1.266981")
    charges = {  # id: (settled gross in USD, rate it was converted at, or None)
        "ch_usd1": (10_000, None), "ch_eur1": (10_842, eur), "ch_gbp1": (6_335, gbp),
        "ch_usd2": (2_500, None), "ch_eur2": (54_211, eur),
    }  # fmt: skip
    items = []
    for n, (txn, (gross, converted_at)) in enumerate(charges.items()):
        fee = rate.fee(gross, converted=converted_at is not None)
        items.append(PayoutItem("po_1" if n < 3 else "po_2", txn, gross - fee, "charge", gross, fee, f"txn_{n}",
                                exchange_rate=converted_at))  # fmt: skip
    amounts = {p: sum(i.net_minor for i in items if i.payout_id == p) for p in ("po_1", "po_2")}
    payouts = [payout(p, amount, trace=f"T{p}", itemised=True) for p, amount in amounts.items()]
    lines = [line(p, amount, FRIDAY, reference=f"T{p}") for p, amount in amounts.items()]
    charge_fees = [ChargeFee("stripe", i.processor_txn_id, FRIDAY, i.gross_minor, "USD", i.fee_minor,
                             converted=i.exchange_rate is not None) for i in items]  # fmt: skip
    settled = settle_day(FRIDAY, payouts, items, lines, {}, charge_fees, schedule=schedule, as_of=FRIDAY,
                         processors=PROCESSORS)  # fmt: skip
    assert settled.findings == [] and len(settled.matches) == 2
    # the same items charged without the cross-currency part: each converted charge is a variance, in USD
    flat = [replace(c, fee_minor=rate.fee(c.amount_minor)) for c in charge_fees]
    assert sorted((f.processor_txn_id, f.currency) for f in fee_variances(flat, schedule)) == [
        ("ch_eur1", "USD"),
        ("ch_eur2", "USD"),
        ("ch_gbp1", "USD"),
    ]

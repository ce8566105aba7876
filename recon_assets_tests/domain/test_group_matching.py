"""Matching beyond one-to-one: split tenders (N:1), split bookings (1:N), tolerances, suggestions and manual
links, each case generated with the findings it must produce and no others."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon_assets.domain.matching import MANUAL_MATCH, MATCHED_GROUP, reconcile
from recon_assets.domain.rules import ManualLink, MatchingRules, RuleError, Tolerance, rules_from_json
from recon_assets_tests.domain.test_matching import found

DAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, 9, tzinfo=UTC)
TOLERANCE = 5  # minor units of USD each group rule allows in these tests
RULES = MatchingRules(split_booking=Tolerance({"USD": TOLERANCE}), split_tender=Tolerance({"USD": TOLERANCE}))
# a suggestion case gets a currency of its own, so no other case's leftovers can complete its sum by chance
SUGGESTION_CURRENCIES = ("CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "NZD", "SGD", "HKD", "MXN")

parts = st.lists(st.integers(1, 10**7), min_size=2, max_size=4)
near_miss = st.one_of(st.just(0), st.integers(-TOLERANCE, TOLERANCE), st.integers(TOLERANCE + 1, 10**5),
                      st.integers(-(10**5), -(TOLERANCE + 1)))  # fmt: skip
case = st.one_of(
    st.tuples(st.just("split_tender"), parts, near_miss, st.integers(0, 2)),  # + how many failed members
    st.tuples(st.just("split_booking"), parts, near_miss, st.just(0)),
    st.tuples(st.just("duplicate"), st.lists(st.integers(1, 10**7), min_size=1, max_size=1), st.just(0), st.just(0)),
    st.tuples(st.just("suggestion"), st.lists(st.integers(1, 10**7), min_size=2, max_size=4, unique=True),
              st.just(0), st.just(0)),
)  # fmt: skip


class Case:
    """Processor records and ledger entries built case by case, with the findings they must produce."""

    def __init__(self):
        self.processor, self.ledger, self.expected, self.grouped = [], [], set(), set()

    def record(self, txn_id, amount, currency="USD", order=None, status="succeeded"):
        self.processor.append({"processor_txn_id": txn_id, "business_date": DAY, "amount_minor": amount,
                               "currency": currency, "status": status, "order_reference": order})  # fmt: skip

    def entry(self, ledger_id, reference, amount, currency="USD", order=None, minutes=0):
        self.ledger.append({"ledger_id": ledger_id, "processor_reference": reference, "business_date": DAY,
                            "amount_minor": amount, "currency": currency, "status": "succeeded",
                            "booked_at": START + timedelta(minutes=minutes), "order_reference": order})  # fmt: skip

    def frames(self):
        return pd.DataFrame(self.processor), pd.DataFrame(self.ledger)


def build(cases) -> Case:
    c, suggestion_currencies = Case(), iter(SUGGESTION_CURRENCIES)
    for i, (kind, amounts, delta, failed) in enumerate(cases):
        if kind == "split_tender":  # one order paid with several charges, booked once for the order's total
            order = f"order_{i}"
            members = [f"t{i}_{j}" for j in range(len(amounts))]
            for txn, amount in zip(members, amounts, strict=True):
                c.record(txn, amount, order=order)
            for j in range(failed):  # a declined card of the same order moved no money: not in the sum
                c.record(f"t{i}_failed{j}", 999, order=order, status="failed")
            c.entry(f"led_{i}", order, sum(amounts) + delta, order=order)
            if abs(delta) > TOLERANCE:
                c.expected.add(("group_amount_mismatch", None, f"led_{i}"))
            else:
                c.grouped.update(members)
        elif kind == "split_booking":  # one payment booked as revenue, tax and tip lines
            txn = f"p{i}"
            c.record(txn, sum(amounts))
            lines = [*amounts[:-1], amounts[-1] + delta]
            if delta and len(set(lines)) == 1:  # identical lines that do not add up are copies: keep it a split
                lines[-1] += 1
                delta += 1
            for j, amount in enumerate(lines):
                c.entry(f"led_{i}_{j}", txn, amount, minutes=j)
            if abs(sum(lines) - sum(amounts)) > TOLERANCE:
                c.expected.add(("group_amount_mismatch", txn, None))
            else:
                c.grouped.add(txn)
        elif kind == "duplicate":  # the same booking twice: a duplicate, never a split
            txn = f"d{i}"
            c.record(txn, amounts[0])
            c.entry(f"led_{i}", txn, amounts[0])
            c.entry(f"led_{i}_copy", txn, amounts[0], minutes=7)
            c.expected.add(("duplicate", txn, f"led_{i}_copy"))
        else:  # records with no key in common with an entry that equals their sum: suggested, not matched
            currency = next(suggestion_currencies)
            for j, amount in enumerate(amounts):
                c.record(f"s{i}_{j}", amount, currency=currency)
                c.expected.add(("missing_in_ledger", f"s{i}_{j}", None))
            c.entry(f"led_{i}", f"invoice_{i}", sum(amounts), currency=currency)
            c.expected |= {("missing_at_processor", f"invoice_{i}", f"led_{i}"), ("suggested_match", None, f"led_{i}")}
    return c


@settings(max_examples=150, deadline=None)
@given(st.lists(case, max_size=len(SUGGESTION_CURRENCIES)))
def test_groups_find_exactly_the_expected_outcomes(cases):
    c = build(cases)
    if not c.processor:
        return
    result = reconcile(*c.frames(), DAY, RULES)
    assert found(result, suggestions=True) == c.expected
    outcomes = dict(zip(result.outcomes["processor_txn_id"].to_pylist(),
                        result.outcomes["outcome"].cast("string").to_pylist(), strict=True))  # fmt: skip
    assert {txn for txn, outcome in outcomes.items() if outcome == MATCHED_GROUP} == c.grouped
    assert len(outcomes) == len(c.processor)


def test_a_split_tender_finding_names_its_members_and_the_difference():
    c = build([("split_tender", [600, 400], 100, 1)])
    row = reconcile(*c.frames(), DAY, RULES).discrepancies.iloc[0]
    assert row["group_members"] == ["t0_0", "t0_1"]  # the failed card is not a member
    assert (row["processor_amount_minor"], row["ledger_amount_minor"], row["at_risk_minor"]) == (1000, 1100, 100)


def test_an_order_is_never_grouped_across_days_beyond_the_drift():
    c = build([("split_tender", [600, 400], 0, 0)])
    c.processor[1]["business_date"] = DAY + timedelta(days=1)
    rules = MatchingRules(split_tender=Tolerance(date_drift_days=0))
    assert found(reconcile(*c.frames(), DAY, rules)) == {("group_amount_mismatch", None, "led_0")}
    assert found(reconcile(*c.frames(), DAY, MatchingRules())) == set()


def test_a_percentage_tolerance_is_of_the_processor_amount():
    c = build([("split_booking", [60_000, 40_000], 500, 0)])  # lines 100,500 for a payment of 100,000
    half_percent = MatchingRules(split_booking=Tolerance(percent={"USD": Decimal("0.5")}))
    assert found(reconcile(*c.frames(), DAY, half_percent)) == set()
    a_tenth = MatchingRules(split_booking=Tolerance(percent={"USD": Decimal("0.1")}))
    assert found(reconcile(*c.frames(), DAY, a_tenth)) == {("group_amount_mismatch", "p0", None)}


def test_a_manual_link_explains_both_sides_and_outranks_every_rule():
    c = build([("suggestion", [300, 200], 0, 0), ("duplicate", [50], 0, 0)])
    links = [ManualLink(1, ("s0_0", "s0_1"), ("led_0",)), ManualLink(2, (), ("led_1_copy",))]
    result = reconcile(*c.frames(), DAY, RULES, links)
    assert found(result, suggestions=True) == set()
    outcomes = dict(zip(result.outcomes["processor_txn_id"].to_pylist(), result.outcomes["outcome"].to_pylist(),
                        strict=True))  # fmt: skip
    assert outcomes == {"s0_0": MANUAL_MATCH, "s0_1": MANUAL_MATCH, "d1": "matched"}


def test_rules_read_from_configuration_and_refuse_what_cannot_apply():
    rules = rules_from_json({"split_tender": {"percent": {"usd": "0.5"}, "date_drift_days": 0}}, "stripe", {"USD": 2})
    assert rules.split_tender == Tolerance({"USD": 2}, {"USD": Decimal("0.5")}, 0)
    assert rules.exact_reference == Tolerance({"USD": 2})
    with pytest.raises(RuleError, match="settlement window"):
        rules_from_json({"exact_reference": {"date_drift_days": 3}}, "stripe")
    with pytest.raises(RuleError, match="unknown rule"):
        rules_from_json({"fuzzy": {}}, "stripe")

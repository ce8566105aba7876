"""The engine finds exactly the injected faults: no more, no fewer."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from recon_assets.domain.matching import SUGGESTED_MATCH, reconcile
from recon_assets.domain.rules import MatchingRules, Tolerance

DAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, tzinfo=UTC)
CURRENCIES = ("USD", "JPY", "KWD", "EUR")
FAULTS = ("none", "missing", "amount", "currency", "status", "duplicate", "next_day", "previous_day", "two_days_off")
OTHER_STATUS = {"succeeded": "pending", "refunded": "pending", "pending": "succeeded", "failed": "succeeded"}

record = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(("charge", "refund")),
        "amount": st.integers(1, 10**9),
        "currency": st.sampled_from(CURRENCIES),
        "status": st.sampled_from(("succeeded", "pending", "failed", "refunded")),
        "second": st.integers(0, 86_399),
        "fault": st.sampled_from(FAULTS),
        "delta": st.integers(1, 10**6),
    }
)


def build_case(records, phantoms):
    processor, ledger, expected = [], [], set()
    for i, r in enumerate(records):
        txn_id = f"txn_{i}"
        amount = r["amount"] if r["kind"] == "charge" else -r["amount"]
        created = START + timedelta(seconds=r["second"])
        processor.append(
            {"processor_txn_id": txn_id, "business_date": DAY, "amount_minor": amount,
             "currency": r["currency"], "status": r["status"]}
        )  # fmt: skip
        entry = {"ledger_id": f"led_{i}", "processor_reference": txn_id, "amount_minor": amount,
                 "currency": r["currency"], "status": r["status"], "booked_at": created}  # fmt: skip
        fault, failed = r["fault"], r["status"] == "failed"
        if fault in ("missing", "two_days_off"):
            if not failed:
                expected.add(("missing_in_ledger", txn_id, None))
            if fault == "missing":
                continue
            entry["booked_at"] = created + timedelta(days=2)
        elif fault == "amount":
            entry["amount_minor"] = amount + r["delta"]
            expected.add(("amount_mismatch", txn_id, entry["ledger_id"]))
        elif fault == "currency":
            entry["currency"] = next(c for c in CURRENCIES if c != r["currency"])
            expected.add(("currency_mismatch", txn_id, entry["ledger_id"]))
        elif fault == "status":
            entry["status"] = OTHER_STATUS[r["status"]]
            expected.add(("status_mismatch", txn_id, entry["ledger_id"]))
        elif fault == "duplicate":
            copy = {**entry, "ledger_id": f"led_{i}_copy", "booked_at": created}  # same time: ledger_id decides
            ledger.append(copy)
            expected.add(("duplicate", txn_id, copy["ledger_id"]))
        elif fault == "next_day":
            entry["booked_at"] = START + timedelta(days=1, seconds=r["second"] % 600)
        elif fault == "previous_day":
            entry["booked_at"] = START - timedelta(seconds=1 + r["second"] % 600)
        ledger.append(entry)
    for j, (second, amount, currency, same_day) in enumerate(phantoms):
        booked = START + timedelta(seconds=second) + (timedelta(0) if same_day else timedelta(days=1))
        ledger.append({"ledger_id": f"phantom_{j}", "processor_reference": f"ghost_{j}", "amount_minor": amount,
                       "currency": currency, "status": "succeeded", "booked_at": booked})  # fmt: skip
        if same_day:
            expected.add(("missing_at_processor", f"ghost_{j}", f"phantom_{j}"))
    ledger_frame = pd.DataFrame(
        ledger, columns=["ledger_id", "processor_reference", "amount_minor", "currency", "status", "booked_at"]
    )
    ledger_frame["business_date"] = pd.to_datetime(ledger_frame["booked_at"], utc=True).dt.date
    processor_frame = pd.DataFrame(
        processor, columns=["processor_txn_id", "business_date", "amount_minor", "currency", "status"]
    )
    return processor_frame, ledger_frame, expected


def found(result, *, suggestions=False):
    """(type, processor_txn_id, ledger_id) of each finding; suggestions (which come on top of the missing
    records they name, and which random amounts can make by chance) only when asked for."""
    return {
        (r.discrepancy_type, r.processor_txn_id if isinstance(r.processor_txn_id, str) else None,
         r.ledger_id if isinstance(r.ledger_id, str) else None)
        for r in result.discrepancies.itertuples()
        if suggestions or r.discrepancy_type != SUGGESTED_MATCH
    }  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(record, max_size=60),
    st.lists(st.tuples(st.integers(0, 86_399), st.integers(1, 10**6), st.sampled_from(CURRENCIES), st.booleans()),
             max_size=5),
)  # fmt: skip
def test_engine_finds_exactly_the_injected_faults(records, phantoms):
    processor, ledger, expected = build_case(records, phantoms)
    result = reconcile(processor, ledger, DAY)
    assert found(result) == expected
    # every processor record of the day has exactly one outcome
    assert len(result.outcomes) == len(processor)
    assert len(set(result.outcomes["processor_txn_id"].to_pylist())) == len(processor)
    assert (result.discrepancies["at_risk_minor"] >= 0).all()


def test_failed_and_unbooked_is_no_discrepancy_but_booked_as_succeeded_is():
    processor, ledger, _ = build_case(
        [{"kind": "charge", "amount": 500, "currency": "USD", "status": "failed", "second": 10, "fault": "missing",
          "delta": 1},
         {"kind": "charge", "amount": 700, "currency": "USD", "status": "failed", "second": 20, "fault": "status",
          "delta": 1}],
        [],
    )  # fmt: skip
    result = reconcile(processor, ledger, DAY)
    assert result.outcome_counts()["not_booked_failed"] == 1
    assert found(result) == {("status_mismatch", "txn_1", "led_1")}


def test_precedence_currency_over_amount_over_status():
    processor = pd.DataFrame([{"processor_txn_id": "a", "business_date": DAY, "amount_minor": 100,
                               "currency": "USD", "status": "succeeded"}])  # fmt: skip
    ledger = pd.DataFrame([{"ledger_id": "l", "processor_reference": "a", "business_date": DAY, "amount_minor": 90,
                            "currency": "EUR", "status": "pending", "booked_at": START}])  # fmt: skip
    assert found(reconcile(processor, ledger, DAY)) == {("currency_mismatch", "a", "l")}
    ledger["currency"] = "USD"
    assert found(reconcile(processor, ledger, DAY)) == {("amount_mismatch", "a", "l")}
    ten_cents = MatchingRules(Tolerance({"USD": 10}))
    assert found(reconcile(processor, ledger, DAY, ten_cents)) == {("status_mismatch", "a", "l")}


def test_amount_at_risk_of_an_amount_mismatch_is_the_difference():
    processor = pd.DataFrame([{"processor_txn_id": "a", "business_date": DAY, "amount_minor": 1000,
                               "currency": "KWD", "status": "succeeded"}])  # fmt: skip
    ledger = pd.DataFrame([{"ledger_id": "l", "processor_reference": "a", "business_date": DAY,
                            "amount_minor": 1250, "currency": "KWD", "status": "succeeded",
                            "booked_at": START}])  # fmt: skip
    row = reconcile(processor, ledger, DAY).discrepancies.iloc[0]
    assert (row["at_risk_minor"], row["at_risk_currency"]) == (250, "KWD")


def test_a_dispute_s_movements_carry_their_kind_and_are_never_suggested_as_a_group():
    """A chargeback and its fee, both unbooked, sum to a chargeback booked on an inquiry: each is a finding of
    its own kind; the suggestion that groups payments missing in the ledger does not group them."""
    processor = pd.DataFrame([
        {"processor_txn_id": "cb", "kind": "chargeback", "business_date": DAY, "amount_minor": -4_000,
         "currency": "USD", "status": "succeeded"},
        {"processor_txn_id": "fee", "kind": "dispute_fee", "business_date": DAY, "amount_minor": -2_000,
         "currency": "USD", "status": "succeeded"},
        {"processor_txn_id": "won", "kind": "chargeback_reversal", "business_date": DAY, "amount_minor": 3_000,
         "currency": "USD", "status": "succeeded"},
    ])  # fmt: skip
    ledger = pd.DataFrame([
        {"ledger_id": "l1", "processor_reference": "inquiry", "kind": "chargeback", "business_date": DAY,
         "amount_minor": -6_000, "currency": "USD", "status": "succeeded", "booked_at": START},
        {"ledger_id": "l2", "processor_reference": "won", "kind": "chargeback_reversal", "business_date": DAY,
         "amount_minor": 3_000, "currency": "USD", "status": "succeeded", "booked_at": START},
    ])  # fmt: skip
    result = reconcile(processor, ledger, DAY)
    rows = result.discrepancies[["discrepancy_type", "kind", "processor_txn_id", "ledger_id"]]
    assert {tuple(r) for r in rows.itertuples(index=False)} == {
        ("missing_in_ledger", "chargeback", "cb", None), ("missing_in_ledger", "dispute_fee", "fee", None),
        ("missing_at_processor", "chargeback", "inquiry", "l1"),
    }  # fmt: skip
    assert result.outcome_counts()["matched"] == 1


def _same_partition(a, b) -> bool:
    """Two codings of the same rows name the same groups (a one-to-one map between their codes)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


def test_hashed_join_keys_group_exactly_as_the_strings_do_and_survive_a_collision(monkeypatch):
    import numpy as np
    import pyarrow as pa

    from recon_assets.domain import matching

    monkeypatch.setattr(matching, "_CHECKED_PER_SLICE", 7_000)  # checked in slices, one across both arrays
    ids = pa.array([f"ch_{i}" for i in range(40_000)])
    refs = pa.array([f"ch_{i}" for i in range(0, 80_000, 2)] + ["ghost", "ghost", None])
    (p_hashed, l_hashed), n_hashed = matching._key_codes(ids, refs)
    exact = matching._codes(ids, refs)
    assert n_hashed == len(exact[1]) + 1
    assert _same_partition(np.r_[p_hashed, l_hashed], np.r_[exact[0][0], exact[0][1]])
    assert l_hashed[-1] == n_hashed - 1  # a missing reference gets the last code

    class EveryIdOneHash:  # the worst collision: every id hashes alike, and the exact encoding takes over
        @staticmethod
        def from_arrow(array):
            return type("S", (), {"hash": lambda self: type("H", (), {"to_numpy": lambda _: np.zeros(len(array))})()})()

    monkeypatch.setattr(matching, "pl", EveryIdOneHash)
    (p_fallback, l_fallback), n_fallback = matching._key_codes(ids, refs)
    assert n_fallback == n_hashed and _same_partition(np.r_[p_fallback, l_fallback], np.r_[p_hashed, l_hashed])

    import polars

    class GhostHashesAsTheFirstId:  # one collision, in the last slice checked
        @staticmethod
        def from_arrow(array):
            series = polars.from_arrow(array)
            hashes = series.hash().to_numpy().copy()
            hashes[(series == "ghost").fill_null(False).to_numpy()] = polars.Series(["ch_0"]).hash()[0]
            return type("S", (), {"hash": lambda self: type("H", (), {"to_numpy": lambda _: hashes})()})()

    monkeypatch.setattr(matching, "pl", GhostHashesAsTheFirstId)
    (p_late, l_late), n_late = matching._key_codes(ids, refs)
    assert n_late == n_hashed and _same_partition(np.r_[p_late, l_late], np.r_[p_hashed, l_hashed])

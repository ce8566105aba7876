"""What a processor's dispute objects say moved, read without a server: one record, or two, per object."""

from datetime import UTC, datetime

from recon_assets.processors.square import SquareDispute
from recon_assets.processors.square import dispute_movements as square_movements
from recon_assets.processors.stripe import StripeAdjustment, StripeMovedFor
from recon_assets.processors.stripe import dispute_movements as stripe_movements

CREATED = 1_795_000_000


def stripe(tid, category, amount, fee, source="dp_1", rate=None):
    return StripeAdjustment(
        id=tid, amount=amount, fee=fee, net=amount - fee, currency="USD", type="adjustment",
        reporting_category=category, source=source, created=CREATED, exchange_rate=rate,
    )  # fmt: skip


def test_a_stripe_withdrawal_is_a_chargeback_and_its_fee_and_other_adjustments_are_skipped():
    made = stripe_movements([
        stripe("txn_w", "dispute", -5_000, 1_500),
        stripe("txn_r", "dispute_reversal", 5_000, 0, source="dp_2"),
        stripe("txn_x", "other_adjustment", -100, 0, source="ia_1"),
        stripe("txn_f", "dispute_reversal", 2_000, -1_500, source="dp_3"),  # the fee returned
    ])  # fmt: skip
    rows = list(zip(made.columns["processor_txn_id"], made.columns["kind"], made.columns["amount_minor"].tolist(),
                    made.origins.tolist(), made.skipped.tolist(), strict=True))  # fmt: skip
    assert rows == [
        ("dp_1", "chargeback", -5_000, 0, False), ("dp_1", "dispute_fee", -1_500, 0, False),
        ("dp_2", "chargeback_reversal", 5_000, 1, False), ("ia_1", None, -100, 2, True),
        ("dp_3", "chargeback_reversal", 2_000, 3, False), ("dp_3", "dispute_fee", 1_500, 3, False),
    ]  # fmt: skip
    assert made.refused == {5: "a dispute_fee with a positive amount (1500)"}  # a returned fee: quarantined


def test_a_converted_stripe_dispute_is_the_payment_s_amount_and_its_fee_the_balance_s():
    """On an account that settles EUR charges in USD, the withdrawal's balance transaction is in USD; the
    dispute, expanded, gives the disputed amount in EUR, as the ledger booked the payment."""
    disputed = StripeMovedFor(id="dp_eur", object="dispute", amount=4_600, currency="EUR")
    made = stripe_movements([stripe("txn_w", "dispute", -5_000, 1_500, source=disputed, rate="1.087"),
                             stripe("txn_r", "dispute_reversal", 5_000, 0, source=disputed, rate="1.087"),
                             stripe("txn_u", "dispute", -2_000, 1_500, source=StripeMovedFor(
                                 id="dp_usd", object="dispute", amount=2_000, currency="USD"))])  # fmt: skip
    rows = list(zip(made.columns["processor_txn_id"], made.columns["kind"], made.columns["amount_minor"].tolist(),
                    made.columns["currency"], strict=True))  # fmt: skip
    assert rows == [
        ("dp_eur", "chargeback", -4_600, "EUR"), ("dp_eur", "dispute_fee", -1_500, "USD"),
        ("dp_eur", "chargeback_reversal", 4_600, "EUR"),
        ("dp_usd", "chargeback", -2_000, "USD"), ("dp_usd", "dispute_fee", -1_500, "USD"),
    ]  # fmt: skip


def square(state, created, updated):
    return SquareDispute(id=f"sq_{state}", amount_money={"amount": 4_000, "currency": "USD"}, state=state,
                         created_at=created, updated_at=updated)  # fmt: skip


def test_a_square_dispute_withdraws_when_it_opens_and_returns_when_won_and_an_inquiry_moves_nothing():
    opened, closed = datetime(2026, 11, 20, 9, tzinfo=UTC), datetime(2026, 11, 21, 15, tzinfo=UTC)
    made = square_movements([square("WON", opened, closed), square("LOST", opened, closed),
                             square("INQUIRY_EVIDENCE_REQUIRED", opened, opened)])  # fmt: skip
    rows = list(zip(made.columns["processor_txn_id"], made.columns["kind"], made.columns["amount_minor"].tolist(),
                    made.columns["occurred_at"], made.skipped.tolist(), strict=True))  # fmt: skip
    assert rows == [
        ("sq_WON", "chargeback", -4_000, opened, False), ("sq_WON", "chargeback_reversal", 4_000, closed, False),
        ("sq_LOST", "chargeback", -4_000, opened, False),
        ("sq_INQUIRY_EVIDENCE_REQUIRED", None, 0, opened, True),
    ]  # fmt: skip
    assert made.origins.tolist() == [0, 0, 1, 2] and not made.refused

"""Disputes (issue 28, first step): a processor record or ledger entry can be a chargeback, a chargeback
reversal or a dispute fee; a ledger entry names the disputed payment in ``original_reference``; and every
finding says which money movement it is about in ``kind``.

- ``kind`` on ``discrepancies``: the movement's kind for a transaction finding (the record's, or the entry's
  when no record), ``payout`` for a payout's finding, ``bank_credit`` for a credit no payout explains, the
  item's or charge's kind for ``paid_out_not_booked`` and ``fee_variance``. Earlier findings get theirs
  from the records and entries they name.
- A dispute's movements share the dispute's reference (Stripe's ``dp_…`` is withdrawn, fee'd and reinstated
  under one id), so the finding key of a dispute movement's finding carries its kind; every earlier
  finding's key stays as it was.

Revision ID: 0013
"""

from alembic import op

revision = "0013"
down_revision = "0012"

KEY_BEFORE = """CASE
    WHEN payout_id IS NULL AND bank_line_id IS NULL
        THEN coalesce(processor_txn_id, '') || '|' || coalesce(ledger_id, '')
    ELSE coalesce(processor_txn_id, '') || '|' || coalesce(ledger_id, '') || '|' || coalesce(payout_id, '') || '|'
        || coalesce(bank_line_id, '') END"""
KEY_AFTER = (
    KEY_BEFORE
    + """ || CASE WHEN kind IN ('chargeback', 'chargeback_reversal', 'dispute_fee')
    THEN '|' || kind ELSE '' END"""
)


def _finding_key(expression: str) -> None:
    op.execute("ALTER TABLE discrepancies DROP CONSTRAINT discrepancies_finding_unique, DROP COLUMN finding_key")
    op.execute(
        "ALTER TABLE discrepancies ADD COLUMN finding_key text GENERATED ALWAYS AS (" + expression + ") STORED, "
        "ADD CONSTRAINT discrepancies_finding_unique UNIQUE (processor_name, business_date, discrepancy_type, "
        "finding_key)"
    )


def upgrade() -> None:
    op.execute(
        """ALTER TABLE processor_transactions DROP CONSTRAINT processor_transactions_kind_check,
               ADD CONSTRAINT processor_transactions_kind_check
                   CHECK (kind IN ('charge', 'refund', 'chargeback', 'chargeback_reversal', 'dispute_fee'));
           ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check,
               ADD CONSTRAINT ledger_transactions_kind_check
                   CHECK (kind IN ('charge', 'refund', 'chargeback', 'chargeback_reversal', 'dispute_fee')),
               ADD COLUMN original_reference text;
           ALTER TABLE discrepancies ADD COLUMN kind text;
           UPDATE discrepancies d SET kind = t.kind FROM processor_transactions t
               WHERE d.payout_id IS NULL AND d.bank_line_id IS NULL AND d.discrepancy_type <> 'fee_variance'
                 AND t.processor_name = d.processor_name AND t.processor_txn_id = d.processor_txn_id;
           UPDATE discrepancies d SET kind = l.kind FROM ledger_transactions l
               WHERE d.kind IS NULL AND d.payout_id IS NULL AND d.bank_line_id IS NULL AND l.ledger_id = d.ledger_id;
           UPDATE discrepancies SET kind = CASE
                   WHEN discrepancy_type = 'unexplained_bank_credit' THEN 'bank_credit'
                   WHEN discrepancy_type = 'paid_out_not_booked' THEN coalesce((SELECT i.kind FROM payout_items i
                        WHERE i.processor_name = discrepancies.processor_name
                          AND i.payout_id = discrepancies.payout_id
                          AND i.processor_txn_id = discrepancies.processor_txn_id LIMIT 1), 'other')
                   WHEN payout_id IS NOT NULL THEN 'payout'
                   ELSE 'charge' END
               WHERE kind IS NULL;
           ALTER TABLE discrepancies ALTER COLUMN kind SET NOT NULL;"""
    )
    _finding_key(KEY_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM discrepancies WHERE kind IN ('chargeback', 'chargeback_reversal', 'dispute_fee')")
    _finding_key(KEY_BEFORE)
    op.execute(
        """ALTER TABLE discrepancies DROP COLUMN kind;
           DELETE FROM ledger_transactions WHERE kind IN ('chargeback', 'chargeback_reversal', 'dispute_fee');
           DELETE FROM processor_transactions WHERE kind IN ('chargeback', 'chargeback_reversal', 'dispute_fee');
           ALTER TABLE ledger_transactions DROP COLUMN original_reference,
               DROP CONSTRAINT ledger_transactions_kind_check,
               ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN ('charge', 'refund'));
           ALTER TABLE processor_transactions DROP CONSTRAINT processor_transactions_kind_check,
               ADD CONSTRAINT processor_transactions_kind_check CHECK (kind IN ('charge', 'refund'));"""
    )

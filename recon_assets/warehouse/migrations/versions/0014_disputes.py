"""Disputes as a working list (issue 28): one row per dispute per processor, as its processor last described
it: the disputed payment, amount, reason, status, due date, outcome, and when it opened and closed. A payout
item is named for what it settled: a dispute's money (withdrawn, returned, its fee), a hold and its release,
an adjustment, or other.

Revision ID: 0014
"""

from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE disputes (
               processor_name text NOT NULL,
               dispute_id text NOT NULL,
               payment_id text,
               amount_minor bigint NOT NULL,
               currency char(3) NOT NULL CHECK (currency = upper(currency)),
               reason text,
               status text NOT NULL,
               stage text,
               outcome text CHECK (outcome IN ('won', 'lost')),
               due_by timestamptz,
               opened_on date NOT NULL,
               closed_on date,
               updated_at timestamptz NOT NULL,
               first_seen_on date NOT NULL,
               last_seen_on date NOT NULL,
               dagster_run_id text,
               PRIMARY KEY (processor_name, dispute_id)
           );
           CREATE INDEX disputes_waiting ON disputes (due_by) WHERE closed_on IS NULL;
           ALTER TABLE payout_items DROP CONSTRAINT payout_items_kind_check,
               ADD CONSTRAINT payout_items_kind_check CHECK (kind IN ('charge', 'refund', 'chargeback',
                   'chargeback_reversal', 'dispute_fee', 'hold', 'hold_release', 'adjustment', 'other'));"""
    )


def downgrade() -> None:
    op.execute(
        """UPDATE payout_items SET kind = 'other', processor_txn_id = NULL WHERE kind NOT IN ('charge', 'refund');
           ALTER TABLE payout_items DROP CONSTRAINT payout_items_kind_check,
               ADD CONSTRAINT payout_items_kind_check CHECK (kind IN ('charge', 'refund', 'other'));
           DROP TABLE disputes;"""
    )

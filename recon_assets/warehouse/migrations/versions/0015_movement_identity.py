"""A processor record is its id and its kind (issue 28): a dispute's movements share the dispute's reference
(Stripe withdraws the funds and takes the fee under one ``dp_…``, and reinstates them under it), so a record
and its outcome are keyed by (id, kind). A payment's kind was always one per id, so no earlier row changes.

Revision ID: 0015
"""

from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.execute(
        """ALTER TABLE processor_transactions DROP CONSTRAINT processor_transactions_pkey,
               ADD PRIMARY KEY (processor_name, processor_txn_id, kind);
           ALTER TABLE transaction_outcomes ADD COLUMN kind text NOT NULL DEFAULT 'charge';
           UPDATE transaction_outcomes o SET kind = t.kind FROM processor_transactions t
               WHERE t.kind <> 'charge' AND t.processor_name = o.processor_name
                 AND t.processor_txn_id = o.processor_txn_id AND t.business_date = o.business_date;
           ALTER TABLE transaction_outcomes ALTER COLUMN kind DROP DEFAULT,
               DROP CONSTRAINT transaction_outcomes_pkey,
               ADD PRIMARY KEY (processor_name, business_date, processor_txn_id, kind);"""
    )


def downgrade() -> None:
    """Back to one record per id: of a dispute's movements, the first kind by name is kept."""
    op.execute(
        """DELETE FROM transaction_outcomes a USING transaction_outcomes b
               WHERE a.processor_name = b.processor_name AND a.business_date = b.business_date
                 AND a.processor_txn_id = b.processor_txn_id AND a.kind > b.kind;
           DELETE FROM processor_transactions a USING processor_transactions b
               WHERE a.processor_name = b.processor_name AND a.processor_txn_id = b.processor_txn_id
                 AND a.kind > b.kind;
           ALTER TABLE transaction_outcomes DROP CONSTRAINT transaction_outcomes_pkey,
               ADD PRIMARY KEY (processor_name, business_date, processor_txn_id), DROP COLUMN kind;
           ALTER TABLE processor_transactions DROP CONSTRAINT processor_transactions_pkey,
               ADD PRIMARY KEY (processor_name, processor_txn_id);"""
    )

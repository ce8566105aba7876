"""Indexes for million-row days: a day's rows under one key range.

A day's rows are written and replaced as a whole. An index keyed by an id alone sends every row to a random
place in it (the costliest part of writing a day); keyed by day first, the day's rows sit together.

- ``transaction_outcomes``: the key is (processor, day, id), not (processor, id), and the separate day
  index goes. An id belongs to one day (landing refuses an id seen on another), so it stays unique.
- ``ledger_transactions``: one index (day, processor, processor reference) serves what the day index and
  the reference index served (a day's entries, a reference's entries on a day, the duplicate check).

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """ALTER TABLE transaction_outcomes DROP CONSTRAINT transaction_outcomes_pkey,
               ADD PRIMARY KEY (processor_name, business_date, processor_txn_id);
           DROP INDEX transaction_outcomes_day;
           CREATE INDEX ledger_transactions_day_reference
               ON ledger_transactions (business_date, processor_name, processor_reference);
           DROP INDEX ledger_transactions_day;
           DROP INDEX ledger_transactions_reference;"""
    )


def downgrade() -> None:
    op.execute(
        """CREATE INDEX ledger_transactions_reference ON ledger_transactions (processor_name, processor_reference);
           CREATE INDEX ledger_transactions_day ON ledger_transactions (business_date, processor_name);
           DROP INDEX ledger_transactions_day_reference;
           CREATE INDEX transaction_outcomes_day ON transaction_outcomes (processor_name, business_date);
           ALTER TABLE transaction_outcomes DROP CONSTRAINT transaction_outcomes_pkey,
               ADD PRIMARY KEY (processor_name, processor_txn_id);"""
    )

"""Trust at the door (issue 25): every statement file taken in, landed or quarantined with its reason, and
the account-days two files stated differently; a statement line is now replaced per account and day, so its
lookup by account and day gets an index. Payouts are judged too: whether the processor itemises a payout
(its items must then add up to it) is kept, and a payout that debits the bank is a finding,
``negative_payout``.

Revision ID: 0010
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE statement_files (
               file_name text NOT NULL,
               version text NOT NULL,
               sha256 char(64) NOT NULL,
               size_bytes bigint NOT NULL,
               format text,
               status text NOT NULL CHECK (status IN ('landed', 'unchanged', 'quarantined')),
               reason text,
               account_days jsonb NOT NULL DEFAULT '[]'::jsonb,
               lines integer NOT NULL DEFAULT 0,
               pending jsonb NOT NULL DEFAULT '[]'::jsonb,
               taken_in_at timestamptz NOT NULL DEFAULT now(),
               dagster_run_id text,
               PRIMARY KEY (file_name, version),
               CHECK ((status = 'quarantined') = (reason IS NOT NULL))
           );
           CREATE TABLE statement_conflicts (
               account text NOT NULL,
               booking_date date NOT NULL,
               file_name text NOT NULL,
               replaced_file text NOT NULL,
               details jsonb NOT NULL,
               detected_at timestamptz NOT NULL DEFAULT now(),
               dagster_run_id text,
               PRIMARY KEY (account, booking_date, file_name, replaced_file)
           );
           CREATE INDEX bank_statement_lines_account_day ON bank_statement_lines (account, booking_date);
           ALTER TABLE payouts ADD COLUMN itemised boolean NOT NULL DEFAULT false;"""
    )
    op.execute(
        """ALTER TABLE discrepancies
               DROP CONSTRAINT discrepancies_discrepancy_type_check,
               ADD CONSTRAINT discrepancies_discrepancy_type_check CHECK (discrepancy_type IN
                   ('missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'currency_mismatch',
                   'status_mismatch', 'duplicate', 'group_amount_mismatch', 'suggested_match', 'payout_not_in_bank',
                   'unexplained_bank_credit', 'payout_amount_mismatch', 'payout_composition_mismatch',
                   'paid_out_not_booked', 'fee_variance', 'negative_payout'));"""
    )


def downgrade() -> None:
    op.execute(
        """DELETE FROM discrepancies WHERE discrepancy_type = 'negative_payout';
           ALTER TABLE discrepancies
               DROP CONSTRAINT discrepancies_discrepancy_type_check,
               ADD CONSTRAINT discrepancies_discrepancy_type_check CHECK (discrepancy_type IN
                   ('missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'currency_mismatch',
                   'status_mismatch', 'duplicate', 'group_amount_mismatch', 'suggested_match', 'payout_not_in_bank',
                   'unexplained_bank_credit', 'payout_amount_mismatch', 'payout_composition_mismatch',
                   'paid_out_not_booked', 'fee_variance'));"""
    )
    op.execute(
        """ALTER TABLE payouts DROP COLUMN itemised;
           DROP INDEX bank_statement_lines_account_day;
           DROP TABLE statement_conflicts;
           DROP TABLE statement_files;"""
    )

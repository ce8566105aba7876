"""A run's open findings per type in one JSON column, ``finding_counts``, instead of a column per type.

A new finding type then needs no column: the summary, the JSON report and ``recon run``'s table read every
type in ``recon_assets.domain.findings`` from the object, 0 where a type is absent (a run before the type
existed). The fourteen columns it replaces are written out here as they were: history.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        """ALTER TABLE reconciliation_runs ADD COLUMN finding_counts jsonb NOT NULL DEFAULT '{}'::jsonb;
           UPDATE reconciliation_runs SET finding_counts = jsonb_build_object(
                   'missing_in_ledger', missing_in_ledger_count,
                   'missing_at_processor', missing_at_processor_count,
                   'amount_mismatch', amount_mismatch_count,
                   'currency_mismatch', currency_mismatch_count,
                   'status_mismatch', status_mismatch_count,
                   'duplicate', duplicate_count,
                   'group_amount_mismatch', group_amount_mismatch_count,
                   'suggested_match', suggested_match_count,
                   'payout_not_in_bank', payout_not_in_bank_count,
                   'unexplained_bank_credit', unexplained_bank_credit_count,
                   'payout_amount_mismatch', payout_amount_mismatch_count,
                   'payout_composition_mismatch', payout_composition_mismatch_count,
                   'paid_out_not_booked', paid_out_not_booked_count,
                   'fee_variance', fee_variance_count);
           ALTER TABLE reconciliation_runs
               DROP COLUMN missing_in_ledger_count,
               DROP COLUMN missing_at_processor_count,
               DROP COLUMN amount_mismatch_count,
               DROP COLUMN currency_mismatch_count,
               DROP COLUMN status_mismatch_count,
               DROP COLUMN duplicate_count,
               DROP COLUMN group_amount_mismatch_count,
               DROP COLUMN suggested_match_count,
               DROP COLUMN payout_not_in_bank_count,
               DROP COLUMN unexplained_bank_credit_count,
               DROP COLUMN payout_amount_mismatch_count,
               DROP COLUMN payout_composition_mismatch_count,
               DROP COLUMN paid_out_not_booked_count,
               DROP COLUMN fee_variance_count;"""
    )


def downgrade() -> None:
    op.execute(
        """ALTER TABLE reconciliation_runs
               ADD COLUMN missing_in_ledger_count integer NOT NULL DEFAULT 0,
               ADD COLUMN missing_at_processor_count integer NOT NULL DEFAULT 0,
               ADD COLUMN amount_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN currency_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN status_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN duplicate_count integer NOT NULL DEFAULT 0,
               ADD COLUMN group_amount_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN suggested_match_count integer NOT NULL DEFAULT 0,
               ADD COLUMN payout_not_in_bank_count integer NOT NULL DEFAULT 0,
               ADD COLUMN unexplained_bank_credit_count integer NOT NULL DEFAULT 0,
               ADD COLUMN payout_amount_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN payout_composition_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN paid_out_not_booked_count integer NOT NULL DEFAULT 0,
               ADD COLUMN fee_variance_count integer NOT NULL DEFAULT 0;
           UPDATE reconciliation_runs SET
               missing_in_ledger_count = coalesce((finding_counts ->> 'missing_in_ledger')::integer, 0),
               missing_at_processor_count = coalesce((finding_counts ->> 'missing_at_processor')::integer, 0),
               amount_mismatch_count = coalesce((finding_counts ->> 'amount_mismatch')::integer, 0),
               currency_mismatch_count = coalesce((finding_counts ->> 'currency_mismatch')::integer, 0),
               status_mismatch_count = coalesce((finding_counts ->> 'status_mismatch')::integer, 0),
               duplicate_count = coalesce((finding_counts ->> 'duplicate')::integer, 0),
               group_amount_mismatch_count = coalesce((finding_counts ->> 'group_amount_mismatch')::integer, 0),
               suggested_match_count = coalesce((finding_counts ->> 'suggested_match')::integer, 0),
               payout_not_in_bank_count = coalesce((finding_counts ->> 'payout_not_in_bank')::integer, 0),
               unexplained_bank_credit_count = coalesce((finding_counts ->> 'unexplained_bank_credit')::integer, 0),
               payout_amount_mismatch_count = coalesce((finding_counts ->> 'payout_amount_mismatch')::integer, 0),
               payout_composition_mismatch_count =
                   coalesce((finding_counts ->> 'payout_composition_mismatch')::integer, 0),
               paid_out_not_booked_count = coalesce((finding_counts ->> 'paid_out_not_booked')::integer, 0),
               fee_variance_count = coalesce((finding_counts ->> 'fee_variance')::integer, 0);
           ALTER TABLE reconciliation_runs DROP COLUMN finding_counts;"""
    )

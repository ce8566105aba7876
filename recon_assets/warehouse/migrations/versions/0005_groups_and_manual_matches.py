"""Matching beyond one-to-one: order references on both sides, group findings and manual matches.

- ``order_reference`` on processor records (Stripe ``metadata.order_id``, Square ``order_id``, PayPal
  ``invoice_id``) and on ledger entries: what a split tender is grouped by.
- ``discrepancies``: the types ``group_amount_mismatch`` and ``suggested_match``, the ids of a group's
  members (``group_members``), and the resolution ``manual_match``; ``reconciliation_runs`` counts both.
- ``manual_matches``: links a person made between records no rule could match, kept (never deleted) with
  who made or broke them and why.

Revision ID: 0005
"""

from alembic import op

revision = "0005"
down_revision = "0004"

TYPES_BEFORE = (
    "'missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'currency_mismatch', 'status_mismatch', "
    "'duplicate'"
)
RESOLUTIONS_BEFORE = "'auto_matched', 'ledger_adjusted', 'processor_error', 'written_off', 'false_positive'"


def upgrade() -> None:
    op.execute(
        f"""ALTER TABLE processor_transactions ADD COLUMN order_reference text;
            ALTER TABLE ledger_transactions ADD COLUMN order_reference text;
            ALTER TABLE discrepancies
                DROP CONSTRAINT discrepancies_discrepancy_type_check,
                ADD CONSTRAINT discrepancies_discrepancy_type_check CHECK (discrepancy_type IN
                    ({TYPES_BEFORE}, 'group_amount_mismatch', 'suggested_match')),
                DROP CONSTRAINT discrepancies_resolution_known,
                ADD CONSTRAINT discrepancies_resolution_known CHECK (resolution IS NULL OR resolution IN
                    ({RESOLUTIONS_BEFORE}, 'manual_match')),
                ADD COLUMN group_members text[];
            ALTER TABLE reconciliation_runs
                ADD COLUMN group_amount_mismatch_count integer NOT NULL DEFAULT 0,
                ADD COLUMN suggested_match_count integer NOT NULL DEFAULT 0;
            CREATE TABLE manual_matches (
                id bigserial PRIMARY KEY,
                processor_name text NOT NULL,
                processor_txn_ids text[] NOT NULL,
                ledger_ids text[] NOT NULL,
                note text NOT NULL CHECK (note <> ''),
                matched_by text NOT NULL,
                matched_at timestamptz NOT NULL DEFAULT now(),
                unmatched_by text,
                unmatched_at timestamptz,
                unmatch_note text,
                CHECK (cardinality(processor_txn_ids) + cardinality(ledger_ids) >= 2),
                CHECK ((unmatched_at IS NULL) = (unmatched_by IS NULL))
            );
            CREATE INDEX manual_matches_active ON manual_matches (processor_name) WHERE unmatched_at IS NULL;"""
    )


def downgrade() -> None:
    op.execute(
        """DROP TABLE manual_matches;
           ALTER TABLE reconciliation_runs DROP COLUMN group_amount_mismatch_count, DROP COLUMN suggested_match_count;
           DELETE FROM discrepancies WHERE discrepancy_type IN ('group_amount_mismatch', 'suggested_match');
           UPDATE discrepancies SET resolution = 'auto_matched' WHERE resolution = 'manual_match';"""
    )
    op.execute(
        f"""ALTER TABLE discrepancies
                DROP COLUMN group_members,
                DROP CONSTRAINT discrepancies_resolution_known,
                ADD CONSTRAINT discrepancies_resolution_known CHECK (resolution IS NULL OR resolution IN
                    ({RESOLUTIONS_BEFORE})),
                DROP CONSTRAINT discrepancies_discrepancy_type_check,
                ADD CONSTRAINT discrepancies_discrepancy_type_check CHECK (discrepancy_type IN ({TYPES_BEFORE}));
            ALTER TABLE ledger_transactions DROP COLUMN order_reference;
            ALTER TABLE processor_transactions DROP COLUMN order_reference;"""
    )

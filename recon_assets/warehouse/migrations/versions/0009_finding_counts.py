"""A run's open findings per type in one JSON column, ``finding_counts``, instead of a column per type.

A new finding type then needs no column: the summary, the JSON report and ``recon run``'s table read every
type in ``recon_assets.domain.findings`` from the object, 0 where a type is absent (a run before the type
existed). The fourteen types of the columns it replaces are listed here as they were, history.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"

TYPES_0008 = (
    "missing_in_ledger", "missing_at_processor", "amount_mismatch", "currency_mismatch", "status_mismatch",
    "duplicate", "group_amount_mismatch", "suggested_match", "payout_not_in_bank", "unexplained_bank_credit",
    "payout_amount_mismatch", "payout_composition_mismatch", "paid_out_not_booked", "fee_variance",
)  # fmt: skip


def upgrade() -> None:
    pairs = ", ".join(f"'{kind}', {kind}_count" for kind in TYPES_0008)
    drops = ", ".join(f"DROP COLUMN {kind}_count" for kind in TYPES_0008)
    op.execute(
        f"""ALTER TABLE reconciliation_runs ADD COLUMN finding_counts jsonb NOT NULL DEFAULT '{{}}'::jsonb;
            UPDATE reconciliation_runs SET finding_counts = jsonb_build_object({pairs});
            ALTER TABLE reconciliation_runs {drops};"""
    )


def downgrade() -> None:
    adds = ", ".join(f"ADD COLUMN {kind}_count integer NOT NULL DEFAULT 0" for kind in TYPES_0008)
    sets = ", ".join(f"{kind}_count = coalesce((finding_counts ->> '{kind}')::integer, 0)" for kind in TYPES_0008)
    op.execute(
        f"""ALTER TABLE reconciliation_runs {adds};
            UPDATE reconciliation_runs SET {sets};
            ALTER TABLE reconciliation_runs DROP COLUMN finding_counts;"""
    )

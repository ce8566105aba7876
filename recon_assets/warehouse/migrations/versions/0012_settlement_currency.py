"""Settlement in another currency (issue 27): a payout item keeps the rate its processor converted it at,
and a cash position names the presentment currencies its volume came from.

Revision ID: 0012
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute(
        """ALTER TABLE payout_items ADD COLUMN exchange_rate numeric CHECK (exchange_rate > 0);
           ALTER TABLE cash_positions ADD COLUMN presented jsonb NOT NULL DEFAULT '{}'::jsonb;"""
    )


def downgrade() -> None:
    op.execute(
        """ALTER TABLE cash_positions DROP COLUMN presented;
           ALTER TABLE payout_items DROP COLUMN exchange_rate;"""
    )

"""Funds on hold (issue 28): the funds a processor holds on its balance for a dispute and later releases, outside
any payout (PayPal's ``T1110`` and ``T1111``), kept per processor and day; the cash position says how much was
held on the day, net of releases (with Square's hold adjustments, which its payouts carry).

Revision ID: 0016
"""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE balance_holds (
               processor_name text NOT NULL,
               business_date date NOT NULL,
               hold_id text NOT NULL,
               kind text NOT NULL CHECK (kind IN ('hold', 'hold_release')),
               amount_minor bigint NOT NULL,
               currency char(3) NOT NULL CHECK (currency = upper(currency)),
               occurred_at timestamptz NOT NULL,
               dagster_run_id text,
               PRIMARY KEY (processor_name, business_date, hold_id)
           );
           ALTER TABLE cash_positions ADD COLUMN on_hold_minor bigint NOT NULL DEFAULT 0;"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE cash_positions DROP COLUMN on_hold_minor; DROP TABLE balance_holds;")

"""The bank's statement lines, one business day at a time: what the bank says arrived (issue 14).

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE bank_statement_lines (
               booking_date date NOT NULL,
               line_id text NOT NULL,
               account text,
               bank_reference text,
               amount_minor bigint NOT NULL,
               currency char(3) NOT NULL CHECK (currency = upper(currency)),
               text text NOT NULL,
               reference text,
               source_file text NOT NULL,
               dagster_run_id text,
               PRIMARY KEY (booking_date, line_id)
           );"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE bank_statement_lines;")

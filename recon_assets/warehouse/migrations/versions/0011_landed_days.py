"""Completeness as a fact of each day (issue 26): a row per source and business day landed, with its record
count and the run that landed it. A day is judged only when its processor's and the ledger's days are here.
Days landed before are recorded from their pages as received (or, older still, their rows).

Revision ID: 0011
"""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE landed_days (
               source text NOT NULL,
               business_date date NOT NULL,
               records bigint NOT NULL,
               dagster_run_id text,
               landed_at timestamptz NOT NULL DEFAULT now(),
               PRIMARY KEY (source, business_date)
           );
           INSERT INTO landed_days (source, business_date, records, dagster_run_id, landed_at)
           SELECT days.source, days.business_date,
                  CASE WHEN days.source = 'ledger'
                       THEN (SELECT count(*) FROM ledger_transactions l WHERE l.business_date = days.business_date)
                       ELSE (SELECT count(*) FROM processor_transactions t
                             WHERE t.processor_name = days.source AND t.business_date = days.business_date)
                  END,
                  NULL, now()
           FROM (SELECT DISTINCT source, business_date FROM source_pages
                 UNION SELECT DISTINCT processor_name, business_date FROM processor_transactions
                 UNION SELECT DISTINCT 'ledger', business_date FROM ledger_transactions) AS days;"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE landed_days;")

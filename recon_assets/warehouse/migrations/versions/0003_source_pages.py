"""Each source's responses as received, page by page: the evidence behind every landed record.

A landed record no longer carries its raw JSON (1.5 KB of Stripe's, a million times a day, parsed into
jsonb): it names its page and its position there. The page is kept exactly as the API sent it,
zstd-compressed by recon (``recon record`` shows a record as received). Rows landed before keep ``raw``.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"

UPGRADE = """
CREATE TABLE source_pages (
    source text NOT NULL,
    business_date date NOT NULL,
    page_no integer NOT NULL,
    endpoint text NOT NULL,
    list_key text NOT NULL,
    encoding text NOT NULL CHECK (encoding IN ('zstd')),
    body bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    dagster_run_id text,
    PRIMARY KEY (source, business_date, page_no)
);
-- already compressed: PostgreSQL stores it as it is
ALTER TABLE source_pages ALTER COLUMN body SET STORAGE EXTERNAL;

ALTER TABLE processor_transactions ALTER COLUMN raw DROP NOT NULL,
    ADD COLUMN page_no integer, ADD COLUMN page_index integer,
    ADD CONSTRAINT processor_transactions_kept CHECK (raw IS NOT NULL OR page_no IS NOT NULL);
ALTER TABLE ledger_transactions ALTER COLUMN raw DROP NOT NULL,
    ADD COLUMN page_no integer, ADD COLUMN page_index integer,
    ADD CONSTRAINT ledger_transactions_kept CHECK (raw IS NOT NULL OR page_no IS NOT NULL);
"""

DOWNGRADE = """
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kept, DROP COLUMN page_no, DROP COLUMN page_index;
ALTER TABLE processor_transactions DROP CONSTRAINT processor_transactions_kept, DROP COLUMN page_no,
    DROP COLUMN page_index;
DROP TABLE source_pages;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

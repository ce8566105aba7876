"""The warehouse schema: transactions, outcomes, discrepancies, run summaries and the audit log.

Table and column names follow the original system so its users' queries keep working.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from recon_assets.domain.money import CURRENCY_EXPONENTS

revision = "0001"
down_revision = None

SCHEMA = """
CREATE TABLE currency_exponents (
    currency char(3) PRIMARY KEY,
    exponent smallint NOT NULL
);

CREATE TABLE processor_transactions (
    business_date date NOT NULL,
    processor_name text NOT NULL,
    processor_txn_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('charge', 'refund')),
    amount_minor bigint NOT NULL,
    currency char(3) NOT NULL CHECK (currency = upper(currency)),
    fee_minor bigint NOT NULL DEFAULT 0,
    status text NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed', 'refunded')),
    occurred_at timestamptz NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    raw jsonb NOT NULL,
    dagster_run_id text,
    PRIMARY KEY (processor_name, processor_txn_id)
);
CREATE INDEX processor_transactions_day ON processor_transactions (processor_name, business_date);

CREATE TABLE ledger_transactions (
    ledger_id text PRIMARY KEY,
    business_date date NOT NULL,
    processor_name text NOT NULL,
    processor_reference text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('charge', 'refund')),
    amount_minor bigint NOT NULL,
    currency char(3) NOT NULL CHECK (currency = upper(currency)),
    fee_minor bigint,
    status text NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed', 'refunded')),
    booked_at timestamptz NOT NULL,
    merchant_id text,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    raw jsonb NOT NULL,
    dagster_run_id text
);
CREATE INDEX ledger_transactions_day ON ledger_transactions (business_date, processor_name);
CREATE INDEX ledger_transactions_reference ON ledger_transactions (processor_name, processor_reference);

CREATE TABLE quarantined_records (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    business_date date NOT NULL,
    record_id text,
    reason text NOT NULL,
    raw jsonb,
    dagster_run_id text,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantined_records_day ON quarantined_records (source, business_date);

CREATE TABLE transaction_outcomes (
    business_date date NOT NULL,
    processor_name text NOT NULL,
    processor_txn_id text NOT NULL,
    outcome text NOT NULL,
    ledger_id text,
    dagster_run_id text,
    PRIMARY KEY (processor_name, processor_txn_id)
);
CREATE INDEX transaction_outcomes_day ON transaction_outcomes (processor_name, business_date);
CREATE VIEW matched_transactions AS
    SELECT business_date, processor_name, processor_txn_id, ledger_id, dagster_run_id
    FROM transaction_outcomes WHERE outcome = 'matched';

CREATE TABLE discrepancies (
    id bigserial PRIMARY KEY,
    business_date date NOT NULL,
    processor_name text NOT NULL,
    discrepancy_type text NOT NULL CHECK (discrepancy_type IN ('missing_in_ledger', 'missing_at_processor',
        'amount_mismatch', 'currency_mismatch', 'status_mismatch', 'duplicate')),
    processor_txn_id text,
    ledger_id text,
    related_ledger_id text,
    processor_amount_minor bigint,
    processor_currency char(3),
    processor_status text,
    ledger_amount_minor bigint,
    ledger_currency char(3),
    ledger_status text,
    at_risk_minor bigint NOT NULL CHECK (at_risk_minor >= 0),
    at_risk_currency char(3) NOT NULL,
    amount_at_risk numeric(18, 2) NOT NULL CHECK (amount_at_risk >= 0),
    reporting_currency char(3) NOT NULL,
    detected_run_id text,
    first_detected_on date NOT NULL,
    last_detected_on date NOT NULL,
    resolved_on date,
    resolution text,
    finding_key text GENERATED ALWAYS AS
        (coalesce(processor_txn_id, '') || '|' || coalesce(ledger_id, '')) STORED,
    CHECK (processor_txn_id IS NOT NULL OR ledger_id IS NOT NULL),
    UNIQUE (processor_name, business_date, discrepancy_type, finding_key)
);
CREATE INDEX discrepancies_open ON discrepancies (processor_name, business_date) WHERE resolved_on IS NULL;

CREATE VIEW missing_transactions AS
    SELECT d.processor_txn_id AS transaction_id,
           d.processor_name,
           d.processor_amount_minor::numeric / (10::numeric ^ e.exponent) AS amount,
           d.processor_currency AS currency,
           d.business_date AS transaction_date,
           d.amount_at_risk,
           d.first_detected_on AS detected_at,
           d.resolved_on,
           d.detected_run_id
    FROM discrepancies d
    LEFT JOIN currency_exponents e ON e.currency = d.processor_currency
    WHERE d.discrepancy_type = 'missing_in_ledger';

CREATE TABLE reconciliation_runs (
    id bigserial PRIMARY KEY,
    run_date date NOT NULL,
    processor_name text NOT NULL,
    processor_transaction_count integer NOT NULL,
    internal_transaction_count integer NOT NULL,
    matched_count integer NOT NULL,
    missing_transaction_count integer NOT NULL,
    not_booked_failed_count integer NOT NULL,
    missing_in_ledger_count integer NOT NULL,
    missing_at_processor_count integer NOT NULL,
    amount_mismatch_count integer NOT NULL,
    currency_mismatch_count integer NOT NULL,
    status_mismatch_count integer NOT NULL,
    duplicate_count integer NOT NULL,
    total_discrepancy_amount numeric(18, 2) NOT NULL,
    total_volume_processed numeric(18, 2) NOT NULL,
    reporting_currency char(3) NOT NULL,
    discrepancy_rate numeric(12, 6) NOT NULL,
    risk_level text NOT NULL CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    report_uris jsonb NOT NULL DEFAULT '{}'::jsonb,
    dagster_run_id text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    status text NOT NULL,
    UNIQUE (run_date, processor_name)
);

CREATE TABLE audit_logs (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_logs_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate
    BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    exponents = sa.table("currency_exponents", sa.column("currency"), sa.column("exponent"))
    op.bulk_insert(exponents, [{"currency": c, "exponent": e} for c, e in sorted(CURRENCY_EXPONENTS.items())])

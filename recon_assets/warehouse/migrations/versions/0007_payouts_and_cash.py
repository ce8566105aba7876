"""The cash side (issue 14): payouts and their items, how each payout met the bank, the day's cash position,
and the settlement findings in ``discrepancies``.

- ``payouts`` (one row per processor payout, by arrival date) and ``payout_items`` (what each settled).
- ``payout_matches``: the bank line each payout was matched to, and how (by trace id or by amount).
- ``cash_positions``: per processor, currency and day, gross, refunds, fees, net, paid out and in transit.
- ``discrepancies``: six settlement types, keyed by ``payout_id`` and ``bank_line_id`` where a finding names no
  transaction (``bank_reference`` is the bank's own reference of the line, shown to people), with the amount
  the payout or the schedule expected and the one the bank, the items or the processor gave. The finding key
  of every earlier finding stays as it was. ``reconciliation_runs`` counts each settlement type too.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

TYPES_BEFORE = (
    "'missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'currency_mismatch', 'status_mismatch', "
    "'duplicate', 'group_amount_mismatch', 'suggested_match'"
)
SETTLEMENT_TYPES = (
    "'payout_not_in_bank', 'unexplained_bank_credit', 'payout_amount_mismatch', 'payout_composition_mismatch', "
    "'paid_out_not_booked', 'fee_variance'"
)
KEY_BEFORE = "coalesce(processor_txn_id, '') || '|' || coalesce(ledger_id, '')"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE payouts (
               processor_name text NOT NULL,
               payout_id text NOT NULL,
               arrival_date date NOT NULL,
               amount_minor bigint NOT NULL,
               currency char(3) NOT NULL CHECK (currency = upper(currency)),
               expected_in_bank boolean NOT NULL,
               trace_id text,
               dagster_run_id text,
               PRIMARY KEY (processor_name, payout_id)
           );
           CREATE INDEX payouts_by_arrival ON payouts (arrival_date, processor_name);
           CREATE TABLE payout_items (
               processor_name text NOT NULL,
               payout_id text NOT NULL,
               item_id text NOT NULL,
               arrival_date date NOT NULL,
               processor_txn_id text,
               kind text NOT NULL CHECK (kind IN ('charge', 'refund', 'other')),
               gross_minor bigint NOT NULL,
               fee_minor bigint NOT NULL,
               net_minor bigint NOT NULL,
               currency char(3) NOT NULL,
               occurred_at timestamptz,
               dagster_run_id text,
               PRIMARY KEY (processor_name, payout_id, item_id)
           );
           CREATE INDEX payout_items_by_arrival ON payout_items (processor_name, arrival_date);
           CREATE INDEX payout_items_by_transaction ON payout_items (processor_name, processor_txn_id);
           CREATE TABLE payout_matches (
               arrival_date date NOT NULL,
               processor_name text NOT NULL,
               payout_id text NOT NULL,
               bank_line_id text NOT NULL,
               booking_date date NOT NULL,
               method text NOT NULL CHECK (method IN ('reference', 'amount')),
               dagster_run_id text,
               PRIMARY KEY (processor_name, payout_id)
           );
           CREATE INDEX payout_matches_by_arrival ON payout_matches (arrival_date);
           CREATE TABLE cash_positions (
               business_date date NOT NULL,
               processor_name text NOT NULL,
               currency char(3) NOT NULL,
               gross_minor bigint NOT NULL,
               refunds_minor bigint NOT NULL,
               fees_minor bigint NOT NULL,
               net_minor bigint NOT NULL,
               paid_out_minor bigint NOT NULL,
               in_transit_minor bigint NOT NULL,
               dagster_run_id text,
               PRIMARY KEY (business_date, processor_name, currency)
           );
           ALTER TABLE discrepancies
               ADD COLUMN payout_id text,
               ADD COLUMN bank_reference text,
               ADD COLUMN bank_line_id text,
               ADD COLUMN expected_minor bigint,
               ADD COLUMN actual_minor bigint,
               DROP CONSTRAINT discrepancies_check,
               ADD CONSTRAINT discrepancies_names_a_record CHECK (processor_txn_id IS NOT NULL
                   OR ledger_id IS NOT NULL OR payout_id IS NOT NULL OR bank_line_id IS NOT NULL),
               DROP CONSTRAINT discrepancies_discrepancy_type_check,
               ADD CONSTRAINT discrepancies_discrepancy_type_check CHECK (discrepancy_type IN
                   ({TYPES_BEFORE}, {SETTLEMENT_TYPES})),
               DROP COLUMN finding_key;
           ALTER TABLE discrepancies
               ADD COLUMN finding_key text GENERATED ALWAYS AS (CASE
                   WHEN payout_id IS NULL AND bank_line_id IS NULL THEN {KEY_BEFORE}
                   ELSE {KEY_BEFORE} || '|' || coalesce(payout_id, '') || '|' || coalesce(bank_line_id, '') END) STORED,
               ADD CONSTRAINT discrepancies_finding_unique
                   UNIQUE (processor_name, business_date, discrepancy_type, finding_key);
           CREATE INDEX discrepancies_by_payout ON discrepancies (processor_name, payout_id)
               WHERE payout_id IS NOT NULL;
           ALTER TABLE reconciliation_runs
               ADD COLUMN payout_not_in_bank_count integer NOT NULL DEFAULT 0,
               ADD COLUMN unexplained_bank_credit_count integer NOT NULL DEFAULT 0,
               ADD COLUMN payout_amount_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN payout_composition_mismatch_count integer NOT NULL DEFAULT 0,
               ADD COLUMN paid_out_not_booked_count integer NOT NULL DEFAULT 0,
               ADD COLUMN fee_variance_count integer NOT NULL DEFAULT 0;"""
    )


def downgrade() -> None:
    settlement_types = [name.strip(" '") for name in SETTLEMENT_TYPES.split(",")]
    op.execute(
        sa.text("DELETE FROM discrepancies WHERE discrepancy_type = ANY(:types)").bindparams(types=settlement_types)
    )
    op.execute(
        f"""ALTER TABLE reconciliation_runs DROP COLUMN payout_not_in_bank_count,
                DROP COLUMN unexplained_bank_credit_count, DROP COLUMN payout_amount_mismatch_count,
                DROP COLUMN payout_composition_mismatch_count, DROP COLUMN paid_out_not_booked_count,
                DROP COLUMN fee_variance_count;
            DROP TABLE cash_positions;
            DROP TABLE payout_matches;
            DROP TABLE payout_items;
            DROP TABLE payouts;
            ALTER TABLE discrepancies
                DROP COLUMN finding_key,
                DROP CONSTRAINT discrepancies_names_a_record,
                DROP CONSTRAINT discrepancies_discrepancy_type_check,
                ADD CONSTRAINT discrepancies_discrepancy_type_check CHECK (discrepancy_type IN ({TYPES_BEFORE})),
                ADD CONSTRAINT discrepancies_check CHECK (processor_txn_id IS NOT NULL OR ledger_id IS NOT NULL),
                DROP COLUMN payout_id, DROP COLUMN bank_reference, DROP COLUMN bank_line_id,
                DROP COLUMN expected_minor, DROP COLUMN actual_minor;
            ALTER TABLE discrepancies
                ADD COLUMN finding_key text GENERATED ALWAYS AS ({KEY_BEFORE}) STORED,
                ADD CONSTRAINT discrepancies_processor_name_business_date_discrepancy_type_fin_key
                    UNIQUE (processor_name, business_date, discrepancy_type, finding_key);"""
    )

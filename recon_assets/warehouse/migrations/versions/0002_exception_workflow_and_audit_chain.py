"""Exception workflow on discrepancies (state, assignee, reasoned resolution) and a hash-chained audit log.

Each audit_logs row carries ``row_hash`` = sha256 over its content and ``prev_hash`` (the previous row's
``row_hash``), computed by a trigger that admits one writer at a time, so the chain follows commit order.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"

UPGRADE = """
ALTER TABLE discrepancies
    ADD COLUMN state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'assigned', 'resolved')),
    ADD COLUMN assigned_to text,
    ADD COLUMN assigned_at timestamptz,
    ADD COLUMN resolved_by text,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN resolution_note text;
UPDATE discrepancies SET state = 'resolved', resolved_by = 'recon', resolved_at = resolved_on
    WHERE resolved_on IS NOT NULL;
ALTER TABLE discrepancies
    ADD CONSTRAINT discrepancies_resolution_known CHECK (resolution IS NULL OR resolution IN
        ('auto_matched', 'ledger_adjusted', 'processor_error', 'written_off', 'false_positive')),
    ADD CONSTRAINT discrepancies_state_matches_resolution CHECK
        ((state = 'resolved') = (resolved_on IS NOT NULL AND resolution IS NOT NULL)),
    ADD CONSTRAINT discrepancies_assigned_has_assignee CHECK (state <> 'assigned' OR assigned_to IS NOT NULL);
CREATE INDEX discrepancies_state ON discrepancies (state, processor_name);

CREATE FUNCTION recon_audit_hash(p_id bigint, p_created_at timestamptz, p_actor text, p_action text,
                                 p_entity text, p_entity_id text, p_details jsonb, p_prev_hash text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(chr(31),
        p_id::text,
        to_char(p_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        p_actor, p_action, p_entity, coalesce(p_entity_id, ''), p_details::text, coalesce(p_prev_hash, '')
    ), 'UTF8')), 'hex')
$$;

ALTER TABLE audit_logs ADD COLUMN prev_hash text, ADD COLUMN row_hash text;

ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete;
DO $$
DECLARE
    r record;
    previous text := NULL;
BEGIN
    FOR r IN SELECT * FROM audit_logs ORDER BY id LOOP
        UPDATE audit_logs SET prev_hash = previous,
            row_hash = recon_audit_hash(r.id, r.created_at, r.actor, r.action, r.entity, r.entity_id,
                                        r.details, previous)
        WHERE id = r.id RETURNING row_hash INTO previous;
    END LOOP;
END $$;
ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete;
ALTER TABLE audit_logs ALTER COLUMN row_hash SET NOT NULL;
-- ids come from the chain trigger, in commit order, without gaps from rolled-back defaults
ALTER TABLE audit_logs ALTER COLUMN id DROP DEFAULT;

CREATE FUNCTION audit_logs_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One writer at a time until commit, so each row links to the last committed one.
    PERFORM pg_advisory_xact_lock(hashtext('recon.audit_logs'));
    NEW.id := nextval(pg_get_serial_sequence('audit_logs', 'id'));
    NEW.created_at := clock_timestamp();
    SELECT row_hash INTO NEW.prev_hash FROM audit_logs ORDER BY id DESC LIMIT 1;
    NEW.row_hash := recon_audit_hash(NEW.id, NEW.created_at, NEW.actor, NEW.action, NEW.entity,
                                     NEW.entity_id, NEW.details, NEW.prev_hash);
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_logs_chain BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_chain();
"""

DOWNGRADE = """
DROP TRIGGER audit_logs_chain ON audit_logs;
ALTER TABLE audit_logs ALTER COLUMN id SET DEFAULT nextval(pg_get_serial_sequence('audit_logs', 'id'));
DROP FUNCTION audit_logs_chain();
ALTER TABLE audit_logs DROP COLUMN prev_hash, DROP COLUMN row_hash;
DROP FUNCTION recon_audit_hash(bigint, timestamptz, text, text, text, text, jsonb, text);
DROP INDEX discrepancies_state;
ALTER TABLE discrepancies
    DROP CONSTRAINT discrepancies_resolution_known,
    DROP CONSTRAINT discrepancies_state_matches_resolution,
    DROP CONSTRAINT discrepancies_assigned_has_assignee,
    DROP COLUMN state, DROP COLUMN assigned_to, DROP COLUMN assigned_at,
    DROP COLUMN resolved_by, DROP COLUMN resolved_at, DROP COLUMN resolution_note;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

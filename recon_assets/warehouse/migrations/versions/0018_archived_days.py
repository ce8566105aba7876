"""Old days leave the database (issue 29): ``archived_days`` names each day whose partitions were copied to
Parquet, verified, and dropped, with where each copy is and its checksum; ``recon_drop_day(day)``, owned by
the schema's owner, detaches and drops a day's partitions, and only a day recorded as archived.

Revision ID: 0018
"""

from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE archived_days (
               business_date date PRIMARY KEY,
               copies jsonb NOT NULL,
               archived_at timestamptz NOT NULL DEFAULT now(),
               dagster_run_id text
           );
           CREATE FUNCTION recon_drop_day(day date) RETURNS integer
           LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
           DECLARE
               parent text;
               part text;
               dropped integer := 0;
           BEGIN
               IF NOT EXISTS (SELECT 1 FROM archived_days WHERE business_date = day) THEN
                   RAISE EXCEPTION 'recon: % is not archived: its partitions stay', day;
               END IF;
               FOR parent IN SELECT name FROM recon_day_tables() AS t(name) LOOP
                   part := parent || '_' || to_char(day, 'YYYYMMDD');
                   IF to_regclass(format('%I', part)) IS NOT NULL THEN
                       EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
                       EXECUTE format('DROP TABLE %I', part);
                       dropped := dropped + 1;
                   END IF;
               END LOOP;
               RETURN dropped;
           END $$;"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION recon_drop_day(date); DROP TABLE archived_days;")

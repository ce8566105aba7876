"""The tables that grow by a day's records are partitioned by business day (issue 29): a day's rows, and the
indexes over them, are the day's own, so landing a day writes into a table and indexes the size of a day
however long the warehouse has run, a day is read by reading its partition, and an old day can leave the
database whole.

A partitioned table's primary key must hold the day, so an id is unique within its day here; the landing
checks the neighbouring days itself (``warehouse/landing.py``). The partitions are made by
``recon_day_partitions(day)``, a function owned by the schema's owner that the application role may call:
the landing creates its day's partitions ahead of writing, never a person.

An existing warehouse is converted in place: each table's rows move into partitions of their days (about a
minute per ten million rows), and the downgrade moves them back into one table.

Revision ID: 0017
"""

from alembic import op

from recon_assets.warehouse.migrations.partitioning import fill_from_aside, move_aside

revision = "0017"
down_revision = "0016"

# table, its day column, its primary key partitioned (with the day) and whole (0016), its other indexes
DAY_TABLES = (
    ("processor_transactions", "business_date", "processor_name, processor_txn_id, kind, business_date",
     "processor_name, processor_txn_id, kind", {"processor_transactions_day": "processor_name, business_date"}),
    ("ledger_transactions", "business_date", "ledger_id, business_date", "ledger_id",
     {"ledger_transactions_day": "business_date, processor_name"}),
    ("transaction_outcomes", "business_date", "processor_name, business_date, processor_txn_id, kind",
     "processor_name, business_date, processor_txn_id, kind", {}),
    ("source_pages", "business_date", "source, business_date, page_no", "source, business_date, page_no", {}),
    ("cash_positions", "business_date", "business_date, processor_name, currency",
     "business_date, processor_name, currency", {}),
    ("balance_holds", "business_date", "processor_name, business_date, hold_id",
     "processor_name, business_date, hold_id", {}),
)  # fmt: skip

MATCHED_VIEW = """CREATE VIEW matched_transactions AS
    SELECT business_date, processor_name, processor_txn_id, ledger_id, dagster_run_id
    FROM transaction_outcomes WHERE outcome = 'matched'"""

# Every partitioned table of the schema gets the day's partition, made as a table of its own and then
# attached: attaching locks the parent against other schema changes only, not against the runs reading and
# writing other days (creating a partition in place would lock out every reader of the table).
DAY_PARTITIONS_FUNCTION = """
CREATE FUNCTION recon_day_partitions(day date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    parent text;
    made integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM recon_day_tables() AS t(name)
                   WHERE to_regclass(format('%I', name || '_' || to_char(day, 'YYYYMMDD'))) IS NULL) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('recon:day-partitions', 0));
    FOR parent IN SELECT name FROM recon_day_tables() AS t(name) LOOP
        IF to_regclass(format('%I', parent || '_' || to_char(day, 'YYYYMMDD'))) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL)', parent || '_' || to_char(day, 'YYYYMMDD'),
                           parent);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent,
                           parent || '_' || to_char(day, 'YYYYMMDD'), day, day + 1);
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$;
CREATE FUNCTION recon_day_tables() RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT c.relname::text FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
    WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname
$$;
"""


def upgrade() -> None:
    op.execute("DROP VIEW matched_transactions")
    for table, day, key, _, indexes in DAY_TABLES:
        move_aside(table, key, f"PARTITION BY RANGE ({day})", indexes)
    op.execute(DAY_PARTITIONS_FUNCTION)
    days = " UNION ".join(f"SELECT DISTINCT {day} FROM {table}_aside" for table, day, *_ in DAY_TABLES)  # noqa: S608  # nosec B608 - names from DAY_TABLES
    op.execute(f"SELECT recon_day_partitions(day) FROM ({days}) AS held(day)")  # noqa: S608  # nosec B608 - names from DAY_TABLES
    for table, *_ in DAY_TABLES:
        fill_from_aside(table)
    op.execute(MATCHED_VIEW)


def downgrade() -> None:
    """One table each again. An id landed on two days (the partitioned key allows it, the landing refuses
    it) would stop the downgrade at the whole key: the day to remove is then the user's choice."""
    op.execute("DROP VIEW matched_transactions")
    for table, _, _, whole_key, indexes in DAY_TABLES:
        move_aside(table, whole_key, "", indexes)
        fill_from_aside(table)
    op.execute("DROP FUNCTION recon_day_partitions(date); DROP FUNCTION recon_day_tables();")
    op.execute(MATCHED_VIEW)

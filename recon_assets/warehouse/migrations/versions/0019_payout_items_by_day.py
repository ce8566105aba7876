"""Payout items are partitioned by arrival date (issue 29): a payout item is a row per payment settled, so a
day's payouts write as many rows as the day's payments, and its index by payment was one over all days. Now
a day's items, and their indexes, are the day's own, like the records they settle; an old day's items leave
the database with its other partitions (``recon archive``).

``payouts`` stays one table: a row per payout, whose key keeps a payout id once across all days (an item
only lands with its payout, in the same transaction, so that key covers the items too).

Every day the warehouse holds gets its items' partition (``recon_day_partitions`` makes one for each
partitioned table), and the items already landed move into theirs.

Revision ID: 0019
"""

from alembic import op

from recon_assets.warehouse.migrations.partitioning import fill_from_aside, move_aside

revision = "0019"
down_revision = "0018"

INDEXES = {
    "payout_items_by_arrival": "processor_name, arrival_date",
    "payout_items_by_transaction": "processor_name, processor_txn_id",
}
HELD_DAYS = """SELECT to_date(right(child.relname, 8), 'YYYYMMDD') FROM pg_inherits i
               JOIN pg_class child ON child.oid = i.inhrelid WHERE child.relname ~ '_[0-9]{8}$'"""


def upgrade() -> None:
    move_aside("payout_items", "processor_name, payout_id, item_id, arrival_date", "PARTITION BY RANGE (arrival_date)",
               INDEXES)  # fmt: skip
    op.execute(
        f"""SELECT recon_day_partitions(day)
            FROM ({HELD_DAYS} UNION SELECT DISTINCT arrival_date FROM payout_items_aside) AS held(day)"""  # noqa: S608  # nosec B608 - names from this migration
    )
    fill_from_aside("payout_items")


def downgrade() -> None:
    """One table again, keyed as before (a payout's items are its own, whatever the day)."""
    move_aside("payout_items", "processor_name, payout_id, item_id", "", INDEXES)
    fill_from_aside("payout_items")

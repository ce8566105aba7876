"""Old days leave the hot database, and come back (issue 29).

Archiving a day copies each of its partitions to Parquet in the report store (``archive/<day>/<table>.parquet``),
reads every copy back and compares it with what was read from the database (row for row, and its SHA-256),
then, in one transaction, checks the day still holds the rows it copied, records the day as archived, audits
it and drops its partitions. Restoring a day checks each copy against the checksum recorded, makes the day's
partitions and loads them, in one transaction. Findings, run summaries, the audit log and open exceptions are
not in day partitions: they never leave.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from recon_assets.file_store import FileStore
from recon_assets.warehouse import archive, store
from recon_assets.warehouse.database import connect
from recon_assets.warehouse.locks import lock_partition
from recon_assets.warehouse.urls import DatabaseUrl

PARQUET = "application/vnd.apache.parquet"


class ArchiveError(RuntimeError):
    """A day could not be archived or restored; the database is left as it was."""


def archive_key(day: date, table: str) -> str:
    return f"archive/{day.isoformat()}/{table}.parquet"


def _plain(rows: pa.Table) -> pa.Table:
    """Extension columns (ADBC reads jsonb as ``arrow.json``) as their storage, text."""
    columns = [
        pa.chunked_array([chunk.storage for chunk in column.chunks], column.type.storage_type)
        if isinstance(column.type, pa.BaseExtensionType) else column
        for column in rows.columns
    ]  # fmt: skip
    return pa.table(columns, names=rows.column_names)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def archive_day(url: DatabaseUrl, files: FileStore, day: date, actor: str, run_id: str) -> dict[str, dict]:
    """Copy, verify, record and drop the day's partitions; returns the copies (table -> key, uri, rows, sha256)."""
    with connect(url) as conn:
        tables = archive.day_tables(conn)
        copies = {}
        for table, column in tables.items():
            rows = _plain(store.read_arrow(url, archive.day_query(table, column, day).as_string(conn)))
            sink = pa.BufferOutputStream()
            pq.write_table(rows, sink, compression="zstd")
            body = sink.getvalue().to_pybytes()
            key = archive_key(day, table)
            uri = files.put(key, body, PARQUET)
            stored = files.get(key)
            if _sha256(stored) != _sha256(body) or not pq.read_table(io.BytesIO(stored)).equals(rows):
                raise ArchiveError(f"{day} {table}: the copy at {uri} does not read back as written; nothing dropped")
            copies[table] = {"key": key, "uri": uri, "rows": rows.num_rows, "sha256": _sha256(body)}
        with conn.transaction():
            lock_partition(conn, "archive", day)
            for table, column in tables.items():
                held = archive.rows_of_day(conn, table, column, day)
                if held != copies[table]["rows"]:
                    raise ArchiveError(
                        f"{day} {table}: {held} rows now, {copies[table]['rows']} copied (written to meanwhile); "
                        "nothing dropped"
                    )
            dropped = archive.drop_archived_day(conn, day, copies, run_id)
            store.audit(conn, actor, "day_archived", "warehouse", day.isoformat(),
                        {"run_id": run_id, "partitions_dropped": dropped, "copies": copies})  # fmt: skip
    return copies


def archive_before(url: DatabaseUrl, files: FileStore, before: date, actor: str, run_id: str) -> list[date]:
    """Archive every day before ``before`` that the database holds, oldest first; returns them."""
    with connect(url) as conn:
        days = archive.days_held(conn, before)
    for day in days:
        archive_day(url, files, day, actor, run_id)
    return days


def restore_day(url: DatabaseUrl, files: FileStore, day: date, actor: str, run_id: str) -> dict[str, int]:
    """Bring an archived day's partitions back from their copies; returns the rows restored per table."""
    with connect(url) as conn:
        copies = archive.archived_copies(conn, day)
        if copies is None:
            raise ArchiveError(f"{day} is not archived: nothing to restore")
        tables = {}
        for table, copy in copies.items():
            body = files.get(copy["key"])
            if _sha256(body) != copy["sha256"]:
                raise ArchiveError(f"{day} {table}: {copy['uri']} is not the copy archived (its SHA-256 differs); "
                                   "nothing restored")  # fmt: skip
            tables[table] = _plain(pq.read_table(io.BytesIO(body)))
        with conn.transaction():
            lock_partition(conn, "archive", day)
            archive.forget_archived(conn, day)  # (rolled back with the rest if a copy does not load)
            store.make_day_partitions(conn, day)
            for table, rows in tables.items():
                store.copy_table(conn, table, rows)
            restored = {table: rows.num_rows for table, rows in tables.items()}
            store.audit(conn, actor, "day_restored", "warehouse", day.isoformat(),
                        {"run_id": run_id, "rows": restored})  # fmt: skip
    return restored

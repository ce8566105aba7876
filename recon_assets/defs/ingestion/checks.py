"""Data-quality checks on each landed day, evaluated with the materialisation that landed it.

``data_quality`` is blocking with ERROR severity: a broken feed stops its day's reconciliation rather
than flooding it with false discrepancies. ``volume`` warns when a day is empty though the week before
was busy (an outage or a lost feed).
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import psycopg
from psycopg import sql

from recon_assets.defs.ingestion.resources import DataQualitySettings
from recon_assets.partitions import daily_partitions

DATA_QUALITY = "data_quality"
VOLUME = "volume"


def quality_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            DATA_QUALITY,
            asset=asset_key,
            partitions_def=daily_partitions,
            blocking=True,
            description="No quarantined records; ids present and unique; ISO 4217 currencies; sane amounts.",
        ),
        dg.AssetCheckSpec(
            VOLUME,
            asset=asset_key,
            partitions_def=daily_partitions,
            description="A day with no records after a busy week, or a ledger with too many duplicates.",
        ),
    ]


# Every query reads one processor's day, or every processor's (the ledger) when %(processor)s is NULL.
_QUALITY = sql.SQL(
    """SELECT
      (SELECT count(*) FROM quarantined_records WHERE source = %(source)s AND business_date = %(day)s),
      count(*) FILTER (WHERE coalesce({id_column}, '') = ''),
      count(*) FILTER (WHERE e.currency IS NULL),
      count(*) FILTER (WHERE abs(t.amount_minor)::numeric / (10::numeric ^ coalesce(e.exponent, 2)) > %(bound)s),
      count(*)
    FROM {table} t LEFT JOIN currency_exponents e ON e.currency = t.currency
    WHERE business_date = %(day)s AND (%(processor)s::text IS NULL OR processor_name = %(processor)s)"""
)
_LEDGER_DUPLICATES = """SELECT count(*) - count(DISTINCT (processor_name, processor_reference))
    FROM ledger_transactions WHERE business_date = %(day)s"""
_WEEKLY_AVERAGE = sql.SQL(
    """SELECT coalesce(count(*)::float / 7, 0) FROM {table}
    WHERE business_date BETWEEN %(day)s::date - 7 AND %(day)s::date - 1
    AND (%(processor)s::text IS NULL OR processor_name = %(processor)s)"""
)


def evaluate_quality(
    conn: psycopg.Connection,
    asset_key: dg.AssetKey,
    *,
    table: str,
    id_column: str,
    source: str,
    processor: str | None,
    day: date,
    bounds: DataQualitySettings,
) -> list[dg.AssetCheckResult]:
    """Check the landed partition in the warehouse (not the in-memory copy): what is stored is judged."""
    params = {"day": day, "processor": processor, "source": source, "bound": bounds.max_abs_amount_major}
    landed = sql.Identifier(table)
    quarantined, missing_ids, bad_currency, out_of_bounds, rows = conn.execute(
        _QUALITY.format(id_column=sql.Identifier(id_column), table=landed), params
    ).fetchone()
    failures = {
        "quarantined_records": quarantined,
        "missing_ids": missing_ids,
        "invalid_currencies": bad_currency,
        "amounts_out_of_bounds": out_of_bounds,
    }
    metadata = {name: dg.MetadataValue.int(int(v)) for name, v in failures.items()}
    metadata["rows"] = dg.MetadataValue.int(int(rows))
    results = [
        dg.AssetCheckResult(
            check_name=DATA_QUALITY,
            asset_key=asset_key,
            passed=not any(failures.values()),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description="; ".join(f"{v} {k.replace('_', ' ')}" for k, v in failures.items() if v) or None,
        )
    ]
    if table == "ledger_transactions":
        (duplicates,) = conn.execute(_LEDGER_DUPLICATES, params).fetchone()
        rate = duplicates / rows if rows else 0.0
        metadata = {"duplicate_rate": dg.MetadataValue.float(round(rate, 6)), "duplicates": int(duplicates)}
        passed_dupes = rate <= bounds.max_ledger_duplicate_rate
    else:
        metadata, passed_dupes = {}, True
    (weekly_average,) = conn.execute(_WEEKLY_AVERAGE.format(table=landed), params).fetchone()
    outage = rows == 0 and weekly_average >= bounds.min_weekly_average_for_outage
    results.append(
        dg.AssetCheckResult(
            check_name=VOLUME,
            asset_key=asset_key,
            passed=not outage and passed_dupes,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**metadata, "rows": int(rows), "previous_7_day_average": round(float(weekly_average), 1)},
            description="no records, though the previous 7 days averaged "
            f"{weekly_average:.0f} a day: possible outage or lost feed"
            if outage
            else None,
        )
    )
    return results

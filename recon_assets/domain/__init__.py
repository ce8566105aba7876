"""Pure reconciliation domain: money, canonical records, matching and risk. No Dagster imports."""

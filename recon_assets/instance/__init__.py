"""Dagster's local instance as the repository's ``dagster.yaml`` configures it: where Dagster keeps its
records (the warehouse's PostgreSQL) and how it launches and watches runs."""

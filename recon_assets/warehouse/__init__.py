"""The PostgreSQL warehouse: connection settings, the embedded server, migrations and partition writes."""

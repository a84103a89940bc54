"""Database access: the embedded cluster, connection strings, migrations."""

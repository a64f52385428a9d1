"""Django's PostgreSQL backend with one change (config/settings.py selects it for a
postgres:// DATABASE_URL): a bulk insert of a few rows is written as VALUES, see
compiler.py."""

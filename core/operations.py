"""Migration operations shared by the apps."""

from functools import partial

from django.contrib.postgres import operations as postgres_operations
from django.db import migrations


class PostgreSQLOnly(migrations.RunSQL):
    """SQL that only PostgreSQL runs: the search indexes (pattern_ops btrees, pg_trgm
    GIN) have no SQLite syntax. The demo's SQLite database scans instead, which its
    few hundred rows allow; the model state is not touched either way."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Raw SQL operation (PostgreSQL only)"


class _ConcurrentlyOnPostgreSQL:
    """An index operation run CONCURRENTLY on PostgreSQL, so that a big table keeps
    taking writes meanwhile (the migration must say `atomic = False`); elsewhere (the
    demo's SQLite) the plain operation, `plain`."""

    plain: type[migrations.AddIndex | migrations.RemoveIndex]

    def _pick(self, schema_editor, name: str):
        if schema_editor.connection.vendor == "postgresql":
            return getattr(super(), name)
        return partial(getattr(self.plain, name), self)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        run = self._pick(schema_editor, "database_forwards")
        run(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        run = self._pick(schema_editor, "database_backwards")
        run(app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(_ConcurrentlyOnPostgreSQL, postgres_operations.AddIndexConcurrently):
    plain = migrations.AddIndex


class RemoveIndexConcurrently(
    _ConcurrentlyOnPostgreSQL, postgres_operations.RemoveIndexConcurrently
):
    plain = migrations.RemoveIndex


def drop_index_concurrently(name: str, *, table: str, columns: str) -> PostgreSQLOnly:
    """Drop an index PostgreSQL holds that the model state does not name (a foreign key's
    own index, Django's `_like` twin of a varchar key) without blocking writes; the
    migration must say `atomic = False`. Backwards, it is built again, concurrently."""
    return PostgreSQLOnly(
        sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        reverse_sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {columns}",
    )

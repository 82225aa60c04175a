"""Full-text search indexes the first 65,536 characters of an event's content.

A tsvector holds at most 1 MB: `to_tsvector` over a large tool output with many distinct words
(a 1.3 MB log of hashes is within the 5 MB body limit) raised "string is too long for tsvector",
so the insert failed and the batch was refused with a server error. Its cost also grows with the
text (6 µs for a 50-character message). The list's `q` filter (sessions_app/selectors/search.py,
ContentMatches) uses exactly this expression, so the planner can use the index.

Built CONCURRENTLY under a new name and swapped in, so a large events table stays writable.
"""

from django.db import migrations

BOUNDED = "to_tsvector('simple', left(content, 65536))"
WHOLE = "to_tsvector('simple', content)"


def _swap(expression):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in (
            "DROP INDEX CONCURRENTLY IF EXISTS event_content_fts_next",
            "CREATE INDEX CONCURRENTLY event_content_fts_next ON sessions_app_event "
            f"USING gin ({expression})",
            "DROP INDEX CONCURRENTLY IF EXISTS event_content_fts",
            "ALTER INDEX event_content_fts_next RENAME TO event_content_fts",
        ):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("sessions_app", "0004_lean_ingest_indexes")]

    operations = [migrations.RunPython(_swap(BOUNDED), _swap(WHOLE))]

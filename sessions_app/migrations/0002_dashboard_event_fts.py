"""Full-text search over event content for the sessions list (PostgreSQL only).

A GIN index on to_tsvector('simple', content): the list's `q` filter uses exactly this
expression (sessions_app/selectors.py, _fts_session_ids), so the planner can use the index.
The 'simple' configuration does not stem, so identifiers, order numbers and tool names match
as typed, in any language. Other databases fall back to a substring match and get no index.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS event_content_fts ON sessions_app_event "
    "USING gin (to_tsvector('simple', content))"
)
DROP = "DROP INDEX IF EXISTS event_content_fts"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]

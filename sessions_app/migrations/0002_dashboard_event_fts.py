"""Full-text search over event content for the sessions list (PostgreSQL only).

A GIN index on to_tsvector('simple', content): the list's `q` filter uses exactly this
expression (now sessions_app/selectors/search.py), so the planner can use the index.
The 'simple' configuration does not stem, so identifiers, order numbers and tool names match
as typed, in any language. Other databases fall back to a substring match and get no index.

Two more indexes serve the list's most selective filters in its default order (last activity):
an end user (`user=`) is typically 1 in thousands of sessions, so without an index the keyset
scan would read most of the project to fill a page; `agent=` likewise for rarer agents.
"""

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS event_content_fts ON sessions_app_event "
    "USING gin (to_tsvector('simple', content))",
    "CREATE INDEX IF NOT EXISTS session_user_activity ON sessions_app_agentsession "
    "(project_id, user_ref, last_event_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS session_agent_activity ON sessions_app_agentsession "
    "(project_id, agent_name, last_event_at DESC, id DESC)",
]
DROP = [
    "DROP INDEX IF EXISTS event_content_fts",
    "DROP INDEX IF EXISTS session_user_activity",
    "DROP INDEX IF EXISTS session_agent_activity",
]


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]

"""Events keep their search words in a `search_vector` column, filled by a trigger (PostgreSQL).

The expression index of migration 0005 made PostgreSQL parse an event's text twice over: on
insert, to index it, and on every search, since a match must be rechecked against the row and the
list's search reads the newest ~2,000 matches in primary-key order (a backward scan that parsed
each one again: 167-250 ms for a word in every one of 100k events). Now a BEFORE trigger parses
the text once, on INSERT and when `content` changes, and stores the words without positions
(`strip`: the searches are `plainto_tsquery`, words ANDed, never phrases, so positions are never
read), with the same configuration and text as before, so results do not change.

Rows that existed before this migration are not rewritten (no table rewrite, no long lock): their
column stays NULL, and the index and the searches use "stored words, else parse the text",
`coalesce(search_vector, <the old expression>)`, which matches old rows exactly as before.

The column is not a model field: the ORM never selects it (it is read only by
sessions_app/selectors/search.py, ContentMatches), so loading events does not carry it.

The index is built CONCURRENTLY, so a large events table stays writable, then replaces the old
one. PostgreSQL only; nothing on SQLite (its search is a substring match, no index).
"""

from django.db import migrations

OLD_EXPRESSION = "to_tsvector('simple', left(content, 65536))"
DOCUMENT = f"coalesce(search_vector, {OLD_EXPRESSION})"

FORWARD = [
    "ALTER TABLE sessions_app_event ADD COLUMN IF NOT EXISTS search_vector tsvector",
    """CREATE OR REPLACE FUNCTION sessions_app_event_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := strip(to_tsvector('simple', left(NEW.content, 65536)));
        RETURN NEW;
    END
    $$""",
    "DROP TRIGGER IF EXISTS event_search_vector_insert ON sessions_app_event",
    "CREATE TRIGGER event_search_vector_insert BEFORE INSERT ON sessions_app_event "
    "FOR EACH ROW EXECUTE FUNCTION sessions_app_event_search_vector()",
    "DROP TRIGGER IF EXISTS event_search_vector_update ON sessions_app_event",
    # Only when the text changed: a save() that rewrites every column leaves the words alone.
    "CREATE TRIGGER event_search_vector_update BEFORE UPDATE OF content ON sessions_app_event "
    "FOR EACH ROW WHEN (OLD.content IS DISTINCT FROM NEW.content) "
    "EXECUTE FUNCTION sessions_app_event_search_vector()",
    # An interrupted earlier run may have left an invalid index of this name.
    "DROP INDEX CONCURRENTLY IF EXISTS event_search",
    f"CREATE INDEX CONCURRENTLY event_search ON sessions_app_event USING gin ({DOCUMENT})",
    "DROP INDEX CONCURRENTLY IF EXISTS event_content_fts",
]

BACKWARD = [
    "DROP INDEX CONCURRENTLY IF EXISTS event_content_fts",
    "CREATE INDEX CONCURRENTLY event_content_fts ON sessions_app_event "
    f"USING gin ({OLD_EXPRESSION})",
    "DROP INDEX CONCURRENTLY IF EXISTS event_search",
    "DROP TRIGGER IF EXISTS event_search_vector_update ON sessions_app_event",
    "DROP TRIGGER IF EXISTS event_search_vector_insert ON sessions_app_event",
    "DROP FUNCTION IF EXISTS sessions_app_event_search_vector()",
    "ALTER TABLE sessions_app_event DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("sessions_app", "0015_session_score_values")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]

"""The insert trigger parses an event's text only when its writer gave no search words.

Migration 0016's trigger parsed every inserted event's text: 26 of the 42 µs an INSERT of a
~500-character message cost PostgreSQL. The event writers now send the words themselves where
Python can tell them exactly (sessions_app/search_words.py); the trigger runs, and parses, only
for rows that arrive without them (`WHEN (NEW.search_vector IS NULL)`). Any other INSERT, and
every change of `content` (the update trigger is unchanged), still gets the parser's words.
PostgreSQL only.
"""

from django.db import migrations

TABLE = "sessions_app_event"
TRIGGER = "event_search_vector_insert"
FUNCTION = "sessions_app_event_search_vector()"


def _trigger(when: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE}",
        f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {TABLE} FOR EACH ROW {when}"
        f"EXECUTE FUNCTION {FUNCTION}",
    ]


FORWARD = _trigger("WHEN (NEW.search_vector IS NULL) ")
BACKWARD = _trigger("")


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0017_event_removed_external_id")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]

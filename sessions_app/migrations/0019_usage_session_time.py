"""Token usage indexed by (session, timestamp) instead of (session) alone.

The costs page's figures link to the sessions list with `spent_from`/`spent_to`: the sessions
that used tokens on those days, each with its cost and tokens within them. Those in-range sums
(one query a page) and PostgreSQL's per-session probe of the filter read a session's usage in a
range of time; with (session) alone they read every usage row of each session. The new index
starts with the session, so it also serves everything the old one did (the foreign key's
cascades, a session's whole usage, the list's "price unknown" probes), and the table keeps the
same number of indexes for ingest to write.

Built CONCURRENTLY on PostgreSQL, so a large usage table stays writable; the old index is dropped
only once the new one exists, so the foreign key is never without one.
"""

from django.db import migrations, models

NEW = models.Index(fields=["session", "timestamp"], name="usage_session_time")
OLD = models.Index(fields=["session"], name="usage_session")


def _swap(apps, schema_editor, add: models.Index, remove: models.Index) -> None:
    model = apps.get_model("sessions_app", "TokenUsage")
    if schema_editor.connection.vendor == "postgresql":
        # An interrupted earlier run may have left an invalid index of this name.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {add.name}")
        schema_editor.execute(str(add.create_sql(model, schema_editor, concurrently=True)))
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {remove.name}")
    else:
        schema_editor.add_index(model, add)
        schema_editor.remove_index(model, remove)


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, NEW, OLD)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, OLD, NEW)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("sessions_app", "0018_event_search_words_given")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="tokenusage", name=OLD.name),
                migrations.AddIndex(model_name="tokenusage", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]

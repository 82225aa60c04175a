"""Next/previous error in a transcript in constant time: a partial index of the error events by
(session, seq). Search inside a session uses the text-search index of 0005 or the
(session, seq) unique index, whichever the planner finds cheaper."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0010_saved_views_share_links"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("is_error", True)),
                fields=["session", "seq"],
                name="event_session_error",
            ),
        ),
    ]

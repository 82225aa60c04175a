from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0006_event_usage_project_unconstrained'),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='duration_ms',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='span_id',
            field=models.CharField(blank=True, default='', max_length=16),
        ),
        migrations.AddField(
            model_name='event',
            name='trace_id',
            field=models.CharField(blank=True, default='', max_length=32),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(condition=models.Q(('span_id', ''), _negated=True), fields=['project', 'span_id'], name='event_span'),
        ),
    ]

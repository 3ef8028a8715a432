"""The events models' app foreign keys lose their own index: the unique constraints and the
other indexes lead with the app already, and the extra index cost every stored event (and
install, and user) one more index entry. Only the indexes go: the foreign keys stay as they
are (Django's AlterField would drop and re-validate them, a scan of every event)."""

import django.db.models.deletion
from django.db import migrations, models

_INDEXES = [
    ("kiln_events_appuser", "kiln_events_appuser_app_id_2736fbe0"),
    ("kiln_events_event", "kiln_events_event_app_id_ce8d5404"),
    ("kiln_events_install", "kiln_events_install_app_id_fffa7362"),
]


def _field(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name=related_name, to="kiln_apps.app"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("kiln_apps", "0001_initial"),
        ("kiln_events", "0003_event_id_not_a_foreign_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="appuser", name="app", field=_field("event_users")),
                migrations.AlterField(model_name="event", name="app", field=_field("events")),
                migrations.AlterField(model_name="install", name="app", field=_field("installs")),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("app_id")',
                )
                for table, index in _INDEXES
            ],
        ),
    ]

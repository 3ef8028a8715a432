from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kiln_tables", "0003_harden_public_privileges"),
    ]

    operations = [
        migrations.AddField(
            model_name="table",
            name="former_names",
            field=models.JSONField(blank=True, default=list),
        ),
    ]

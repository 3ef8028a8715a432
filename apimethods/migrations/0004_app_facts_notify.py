"""Triggers that NOTIFY `kiln_app_facts` with an app's id whenever a fact a client call
reads changes: the secret, suspension or script time limit (or the app goes), the live
deployment, the schema version. apimethods/appfacts.py caches those facts per process and
drops an app's entry when its id arrives."""

from django.db import migrations

CHANNEL = "kiln_app_facts"


def _statements(apps):  # type: ignore[no-untyped-def]
    app = apps.get_model("kiln_apps", "App")._meta.db_table
    live = apps.get_model("apimethods", "LiveDeployment")._meta.db_table
    sequence = apps.get_model("kiln_tables", "TableSequence")._meta.db_table
    return [
        f"""CREATE OR REPLACE FUNCTION kiln_app_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('{CHANNEL}',
            (CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[0]);
          RETURN NULL;
        END $$""",
        f'DROP TRIGGER IF EXISTS kiln_app_facts ON "{app}"',
        f'CREATE TRIGGER kiln_app_facts AFTER UPDATE OF api_key, secret_key, suspended, script_timeout_seconds'
        f' OR DELETE ON "{app}" FOR EACH ROW EXECUTE FUNCTION kiln_app_facts_changed(\'id\')',
        f'DROP TRIGGER IF EXISTS kiln_app_facts ON "{live}"',
        f'CREATE TRIGGER kiln_app_facts AFTER INSERT OR UPDATE OR DELETE ON "{live}"'
        " FOR EACH ROW EXECUTE FUNCTION kiln_app_facts_changed('app_id')",
        f'DROP TRIGGER IF EXISTS kiln_app_facts ON "{sequence}"',
        f'CREATE TRIGGER kiln_app_facts AFTER INSERT OR UPDATE OF schema_version OR DELETE ON "{sequence}"'
        " FOR EACH ROW EXECUTE FUNCTION kiln_app_facts_changed('app_id')",
    ]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    for statement in _statements(apps):
        schema_editor.execute(statement)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    for model in (("kiln_apps", "App"), ("apimethods", "LiveDeployment"), ("kiln_tables", "TableSequence")):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS kiln_app_facts ON "{apps.get_model(*model)._meta.db_table}"')
    schema_editor.execute("DROP FUNCTION IF EXISTS kiln_app_facts_changed()")


class Migration(migrations.Migration):
    dependencies = [
        ("apimethods", "0003_live_deployment_cascade"),
        ("kiln_apps", "0001_initial"),
        ("kiln_tables", "0002_tablesequence_schema_version"),
    ]

    operations = [migrations.RunPython(create, drop)]

from django.db import migrations


def install_triggers(apps, schema_editor):
    from custguard.core import audit_triggers

    audit_triggers.install(schema_editor.connection)


def remove_triggers(apps, schema_editor):
    from custguard.core import audit_triggers

    audit_triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(install_triggers, remove_triggers)]

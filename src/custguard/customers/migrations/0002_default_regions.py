from django.db import migrations


def load_regions(apps, schema_editor):
    from custguard.customers.regions import load_default_table

    load_default_table(apps.get_model("customers", "Region"))


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]

from django.db import migrations


def create_roles(apps, schema_editor):
    from merchants.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0001_initial"),
        ("customers", "0002_initial"),
        ("payments", "0001_initial"),
        ("chargebacks", "0002_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]

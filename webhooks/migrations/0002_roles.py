from django.db import migrations


def sync(apps, schema_editor):
    from merchants.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Merchant admins manage the merchant's webhook endpoints."""

    dependencies = [
        ("webhooks", "0001_initial"),
        ("merchants", "0006_roles_capture"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]

from django.db import migrations


def sync(apps, schema_editor):
    from merchants.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Support agents and merchant admins capture authorized payments."""

    dependencies = [
        ("merchants", "0005_roles_after_subscriptions_moved"),
        ("payments", "0005_capture_permission"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]

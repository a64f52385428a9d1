from django.db import migrations


def sync(apps, schema_editor):
    from merchants.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Merchant admins approve held refunds and set the approval thresholds (SPEC 13)."""

    dependencies = [
        ("merchants", "0006_roles_capture"),
        ("payments", "0010_refund_approvals"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]

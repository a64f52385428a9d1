from django.db import migrations


def sync(apps, schema_editor):
    from merchants.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Merchant admins read their merchant's audit trail (the dashboard's Activity)."""

    dependencies = [
        ("merchants", "0003_idempotencyrecord"),
        ("audit", "0002_append_only_trigger"),
        ("customers", "0003_subscription_renewal_and_email_index"),
        ("chargebacks", "0002_initial"),
        ("payments", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]

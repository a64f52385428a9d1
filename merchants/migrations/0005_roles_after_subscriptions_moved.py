from django.db import migrations


def sync(apps, schema_editor):
    from merchants.roles import sync_roles

    # The model's old content type (and its permissions) would linger in the roles.
    apps.get_model("contenttypes", "ContentType").objects.filter(
        app_label="customers", model="subscription"
    ).delete()
    sync_roles(apps)


class Migration(migrations.Migration):
    """Support agents read subscriptions in their own app now."""

    dependencies = [
        ("merchants", "0004_merchant_admin_reads_activity"),
        ("customers", "0004_subscription_moves_to_its_app"),
        ("subscriptions", "0001_initial"),
        ("audit", "0002_append_only_trigger"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]

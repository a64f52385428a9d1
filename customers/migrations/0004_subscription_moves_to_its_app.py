from django.db import migrations


class Migration(migrations.Migration):
    """Subscription moved to the subscriptions app, with its table: state only."""

    dependencies = [
        ("customers", "0003_subscription_renewal_and_email_index"),
        ("payments", "0003_alter_payment_subscription"),
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Subscription")],
            database_operations=[],
        ),
    ]

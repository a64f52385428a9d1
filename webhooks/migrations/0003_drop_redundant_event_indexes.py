import django.db.models.deletion
from django.db import migrations, models

from core.operations import drop_index_concurrently


class Migration(migrations.Migration):
    """Two indexes fewer for every event written (two per refund): the merchant foreign
    key's own, which wh_event_newest (leading with merchant_id) makes redundant, and
    Django's varchar_pattern_ops twin of the event id, which no query reads with LIKE.
    Dropped CONCURRENTLY; SQLite (the demo) keeps the foreign key's index."""

    atomic = False

    dependencies = [
        ("merchants", "0007_roles_refund_approvals"),
        ("webhooks", "0002_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="webhook_events",
                        to="merchants.merchant",
                    ),
                ),
            ],
            database_operations=[
                drop_index_concurrently(
                    "webhooks_event_merchant_id_29c51e5b",
                    table="webhooks_event",
                    columns="(merchant_id)",
                ),
                drop_index_concurrently(
                    "webhooks_event_id_136b0861_like",
                    table="webhooks_event",
                    columns="(id varchar_pattern_ops)",
                ),
            ],
        ),
    ]

import django.db.models.deletion
from django.db import migrations, models

from core.operations import drop_index_concurrently

# The endpoint key's own index (and its LIKE twin), which wh_delivery_newest (leading
# with endpoint_id) makes redundant, and the LIKE twins of the delivery and event ids,
# which no query reads with LIKE; the event key keeps its btree (an event's deliveries).
DELIVERY = {
    "webhooks_delivery_endpoint_id_6cbee67d": "(endpoint_id)",
    "webhooks_delivery_endpoint_id_6cbee67d_like": "(endpoint_id varchar_pattern_ops)",
    "webhooks_delivery_event_id_b6f5af91_like": "(event_id varchar_pattern_ops)",
    "webhooks_delivery_id_b47d672f_like": "(id varchar_pattern_ops)",
}


class Migration(migrations.Migration):
    """Four indexes fewer for every webhook delivery written and updated (one per event
    and endpoint, then one update per attempt). Dropped CONCURRENTLY; SQLite (the demo)
    keeps the endpoint key's index."""

    atomic = False

    dependencies = [
        ("webhooks", "0003_drop_redundant_event_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="endpoint",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="webhooks.endpoint",
                    ),
                ),
            ],
            database_operations=[
                drop_index_concurrently(name, table="webhooks_delivery", columns=columns)
                for name, columns in DELIVERY.items()
            ],
        ),
    ]

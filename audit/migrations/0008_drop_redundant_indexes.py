import django.db.models.deletion
from django.db import migrations, models

from core.operations import drop_index_concurrently


class Migration(migrations.Migration):
    """Two indexes fewer for every audit entry written (one per action): the merchant
    foreign key's own, which audit_merchant_recent_idx (leading with merchant_id) makes
    redundant, and Django's LIKE twin of the API key reference, which no query reads
    with LIKE. Dropped CONCURRENTLY; SQLite (the demo) keeps the foreign key's index."""

    atomic = False

    dependencies = [
        ("audit", "0007_actions_of_disputes_approvals_batches_webhooks"),
        ("merchants", "0007_roles_refund_approvals"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="merchant",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="audit_entries",
                        to="merchants.merchant",
                    ),
                ),
            ],
            database_operations=[
                drop_index_concurrently(
                    "audit_auditentry_merchant_id_b58b61ca",
                    table="audit_auditentry",
                    columns="(merchant_id)",
                ),
                drop_index_concurrently(
                    "audit_auditentry_actor_api_key_id_62004331_like",
                    table="audit_auditentry",
                    columns="(actor_api_key_id varchar_pattern_ops)",
                ),
            ],
        ),
    ]

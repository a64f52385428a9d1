import django.db.models.deletion
from django.db import migrations, models

from core.operations import drop_index_concurrently


class Migration(migrations.Migration):
    """The daily totals' merchant key had an index of its own beside the unique
    constraint (merchant_id, day, currency) that leads with it and serves every read;
    the row is written by every refund, capture and chargeback. Dropped CONCURRENTLY;
    SQLite (the demo) keeps it."""

    atomic = False

    dependencies = [
        ("merchants", "0007_roles_refund_approvals"),
        ("payments", "0016_drop_redundant_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="dailytotals",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
            ],
            database_operations=[
                drop_index_concurrently(
                    "payments_dailytotals_merchant_id_e8f16941",
                    table="payments_dailytotals",
                    columns="(merchant_id)",
                ),
            ],
        ),
    ]

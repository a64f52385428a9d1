"""Build the dispute ratio monitor's monthly totals from the payments and disputes
already there.

From then on the services keep them. What the previous code wrote between this migration
and the new code serving is not counted: run `manage.py rebuild_monthly_totals` once the
deploy is done (it is idempotent).
"""

from django.db import migrations

from chargebacks.ratio import rebuild_monthly_totals


def build(apps, schema_editor):
    rebuild_monthly_totals(
        payment_model=apps.get_model("payments", "Payment"),
        dispute_model=apps.get_model("chargebacks", "Dispute"),
        totals_model=apps.get_model("payments", "MonthlyTotals"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("chargebacks", "0004_chargebacks_get_disputes"),
        ("payments", "0011_monthly_totals"),
    ]

    operations = [migrations.RunPython(build, migrations.RunPython.noop)]

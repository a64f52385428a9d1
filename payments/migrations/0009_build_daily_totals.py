"""Build the overview's daily totals from the payments already there.

From then on the services keep them. Payments written by the previous code between this
migration and the new code serving are not counted: run `manage.py rebuild_daily_totals`
once the deploy is done (it is idempotent).
"""

from django.db import migrations

from payments.rollup import rebuild


def build(apps, schema_editor):
    rebuild(
        payment_model=apps.get_model("payments", "Payment"),
        transaction_model=apps.get_model("payments", "Transaction"),
        totals_model=apps.get_model("payments", "DailyTotals"),
    )


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0008_dailytotals"),
    ]

    operations = [migrations.RunPython(build, migrations.RunPython.noop)]

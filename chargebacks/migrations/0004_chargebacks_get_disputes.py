"""Give every chargeback recorded before disputes existed its dispute (SPEC 10).

The dispute takes the chargeback's ledger amount (the captured amount, as section 6
recorded it), reason `general`, network `other`, status `needs_response` and the
deadline its chargeback would have had (recorded time + DISPUTE_RESPONSE_DAYS), so
an old one shows as overdue rather than silently closed. The payment's
`amount_disputed` counts it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.db.models import F

from core.ids import new_id


def open_disputes(apps, schema_editor):
    Chargeback = apps.get_model("chargebacks", "Chargeback")
    Dispute = apps.get_model("chargebacks", "Dispute")
    Payment = apps.get_model("payments", "Payment")
    Transaction = apps.get_model("payments", "Transaction")
    days = timedelta(days=settings.DISPUTE_RESPONSE_DAYS)
    chargebacks = Chargeback.objects.filter(disputes__isnull=True).select_related("payment")
    for chargeback in chargebacks.iterator(chunk_size=500):
        payment = chargeback.payment
        ledger = (
            Transaction.objects.filter(payment=payment, type="chargeback")
            .values_list("amount", flat=True)
            .first()
        )
        amount = min(ledger or payment.amount_captured, payment.amount_captured)
        if amount <= 0:
            continue
        dispute = Dispute.objects.create(
            id=new_id("dp"),
            merchant_id=chargeback.merchant_id,
            payment_id=payment.pk,
            chargeback=chargeback,
            amount=amount,
            currency=payment.currency,
            evidence_due_by=chargeback.created_at + days,
            created_by_id=chargeback.created_by_id,
            created_by_api_key_id=chargeback.created_by_api_key_id,
        )
        Dispute.objects.filter(pk=dispute.pk).update(created_at=chargeback.created_at)
        Payment.objects.filter(pk=payment.pk).update(
            amount_disputed=F("amount_disputed") + amount
        )


def forget_disputes(apps, schema_editor):
    Dispute = apps.get_model("chargebacks", "Dispute")
    Payment = apps.get_model("payments", "Payment")
    Dispute.objects.all().delete()
    Payment.objects.exclude(amount_disputed=0).update(amount_disputed=0)


class Migration(migrations.Migration):

    dependencies = [
        ("chargebacks", "0003_dispute"),
        ("payments", "0010_payment_amount_disputed"),
    ]

    operations = [migrations.RunPython(open_disputes, forget_disputes)]

"""The customer an entry concerns, so the Activity page can filter by customer; the
privileges action's label in words.

A nullable column and a partial index: no row is rewritten (the append-only trigger of
0002 would refuse an UPDATE anyway). There is no backfill: entries written before this
have no customer and are found by their target id, as before.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only_trigger'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('payment.create', 'Payment created'), ('payment.capture', 'Payment captured'), ('payment.refund', 'Payment refunded'), ('payment.refund_external', 'External refund recorded'), ('payment.void', 'Payment voided'), ('payment.chargeback', 'Chargeback recorded'), ('customer.restrict', 'Customer restrictions changed'), ('blacklist.add', 'Email blacklisted'), ('blacklist.remove', 'Email removed from the blacklist'), ('api_key.create', 'API key created'), ('api_key.revoke', 'API key revoked'), ('user.roles_change', 'User roles changed'), ('user.privileges_change', 'User access changed')], max_length=40),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='customer_id',
            field=models.CharField(blank=True, max_length=40, null=True),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('customer_id__isnull', False)), fields=['customer_id', '-created_at'], name='audit_customer_recent_idx'),
        ),
    ]

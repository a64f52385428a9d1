from django.db import migrations


class Migration(migrations.Migration):
    """Joins the audit actions added side by side by disputes, refund approvals, bulk
    refunds and webhooks; 0007 holds the whole list of actions."""

    dependencies = [
        ("audit", "0005_dispute_actions"),
        ("audit", "0005_refund_approval_actions"),
        ("audit", "0005_refund_batch_actions"),
        ("audit", "0005_webhook_actions"),
    ]

    operations = []

"""Stored blacklist entries in the one comparison form (customers.models.normalize_email):
an entry written as x@bücher.de or "jane"@x blocked only that spelling until now."""

from django.db import migrations
from django.utils import timezone


def canonical_emails(apps, schema_editor):
    from customers.models import normalize_email

    BlacklistEntry = apps.get_model("customers", "BlacklistEntry")
    kept: set[str] = set()
    for entry in BlacklistEntry.objects.filter(removed_at__isnull=True).order_by("created_at", "id"):
        canonical = normalize_email(entry.email)
        if canonical in kept:
            # Two spellings of one address were both blacklisted: the older entry stays.
            entry.removed_at = timezone.now()
            entry.removal_reason = f"Same address as an older entry ({canonical})"
            entry.save(update_fields=["removed_at", "removal_reason"])
            continue
        kept.add(canonical)
        if canonical != entry.email:
            entry.email = canonical
            entry.save(update_fields=["email"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_subscription_moves_to_its_app")]

    operations = [migrations.RunPython(canonical_emails, migrations.RunPython.noop)]

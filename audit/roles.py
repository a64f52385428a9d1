"""Auditors read everything in the admin (SPEC 1): every view permission of the product's
apps, of the audit trail, and of the roles themselves.

merchants.roles grants them once, in a data migration, for the models that existed
then; this keeps the grant complete after every `migrate`, so a model added later (the
idempotency records, the audit entries, historical tables) is readable by auditors
without anyone remembering to re-grant. It only ever adds view permissions.
"""

from django.db import DEFAULT_DB_ALIAS

AUDITOR = "Auditor"
AUDITOR_READS_APPS = ["merchants", "customers", "payments", "chargebacks", "audit", "auth"]


def grant_auditor_view_permissions(using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    auditor = Group.objects.using(using).filter(name=AUDITOR).first()
    if auditor is None:  # the roles migration has not run (yet)
        return
    missing = (
        Permission.objects.using(using)
        .filter(content_type__app_label__in=AUDITOR_READS_APPS, codename__startswith="view_")
        .exclude(group=auditor)
    )
    if missing.exists():
        auditor.permissions.add(*missing)

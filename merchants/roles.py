"""Dashboard roles are Django groups with permissions; deny by default (SPEC 1).

Created by data migrations (`sync_roles`). Auditors read everything in the admin: every
view permission of the product's apps, of the audit trail and of the roles themselves;
`grant_auditor_view_permissions` runs after every `migrate`, so a model added later is
readable by auditors without anyone remembering to re-grant.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

SUPPORT_AGENT = "Support agent"
MERCHANT_ADMIN = "Merchant admin"
PLATFORM_ADMIN = "Platform admin"
AUDITOR = "Auditor"

_AGENT_PERMISSIONS = [
    "payments.view_payment",
    "payments.view_transaction",
    "payments.reverse_payment",
    "payments.capture_payment",
    "customers.view_customer",
    "subscriptions.view_subscription",
    "chargebacks.view_chargeback",
    "chargebacks.add_chargeback",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    SUPPORT_AGENT: _AGENT_PERMISSIONS,
    MERCHANT_ADMIN: [
        *_AGENT_PERMISSIONS,
        "customers.change_restrictions",
        "merchants.view_apikey",
        "merchants.manage_api_keys",
        "audit.view_auditentry",
        "webhooks.manage_webhooks",
        # SPEC 13: the four-eyes approval of refunds, and its thresholds.
        "payments.approve_refund",
        "payments.view_approvalthreshold",
        "payments.change_approvalthreshold",
    ],
    PLATFORM_ADMIN: [
        "customers.view_blacklistentry",
        "customers.add_blacklistentry",
        "customers.change_blacklistentry",
    ],
}

# Auditors read everything in the Django admin: every model's view permission.
AUDITOR_READS_APPS = [*settings.DOMAIN_APPS, "audit", "auth"]


def sync_roles(apps) -> None:
    """Create or update the role groups. Called from data migrations with the
    historical app registry, so it also works before the models are final."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def lookup(dotted: str):
        app_label, codename = dotted.split(".")
        return Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()

    # An early migration runs this before later apps' models exist: their permissions
    # are granted by the later migration that runs it again (the last run wins).
    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([p for p in map(lookup, dotted_names) if p is not None])
    auditor, _ = Group.objects.get_or_create(name=AUDITOR)
    auditor.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=AUDITOR_READS_APPS, codename__startswith="view_"
        )
    )


def grant_auditor_view_permissions(using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate: add any view permission the Auditor role is missing (only adds)."""
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

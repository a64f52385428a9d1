"""Dashboard roles are Django groups with permissions; deny by default (SPEC 1)."""

SUPPORT_AGENT = "Support agent"
MERCHANT_ADMIN = "Merchant admin"
PLATFORM_ADMIN = "Platform admin"
AUDITOR = "Auditor"

_AGENT_PERMISSIONS = [
    "payments.view_payment",
    "payments.view_transaction",
    "payments.reverse_payment",
    "customers.view_customer",
    "customers.view_subscription",
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
    ],
    PLATFORM_ADMIN: [
        "customers.view_blacklistentry",
        "customers.add_blacklistentry",
        "customers.change_blacklistentry",
    ],
}

# Auditors read everything in the Django admin: every model's view permission.
AUDITED_APPS = ["merchants", "customers", "payments", "chargebacks"]


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
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([lookup(name) for name in dotted_names])
    auditor, _ = Group.objects.get_or_create(name=AUDITOR)
    auditor.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=AUDITED_APPS, codename__startswith="view_"
        )
    )

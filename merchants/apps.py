from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = "Merchants and access"

    def ready(self) -> None:
        from . import roles

        # After django.contrib.auth's own post_migrate handler has created the
        # permissions of new models (auth comes first in INSTALLED_APPS).
        post_migrate.connect(
            roles.grant_auditor_view_permissions,
            dispatch_uid="merchants_grant_auditor_view_permissions",
        )

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from . import roles, signals

        signals.connect()
        # After django.contrib.auth's own post_migrate handler has created the
        # permissions of new models (auth comes first in INSTALLED_APPS).
        post_migrate.connect(
            roles.grant_auditor_view_permissions,
            sender=self,
            dispatch_uid="audit_grant_auditor_view_permissions",
        )

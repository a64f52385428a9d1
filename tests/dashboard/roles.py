"""Transactional tests empty every table, the role groups of the data migration included;
permissions come back with post_migrate, the groups do not. Put them back."""

from django.contrib.auth.models import Group, Permission

from merchants.roles import ROLE_PERMISSIONS


def ensure_role_groups() -> None:
    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for dotted in dotted_names:
            app_label, codename = dotted.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)

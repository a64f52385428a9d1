"""Who holds which role, and who is staff or superuser, are recorded as audit entries
whenever they change, from anywhere (admin, dashboard, shell, a command).

Recording is not a business flow, so a signal is the right place: the membership table
of `User.groups` belongs to django.contrib.auth, and it changes from either side
(`user.groups.add(group)` or `group.user_set.add(user)`). The actor is the signed-in
user of the request being served (audit.middleware), else "system".
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save, pre_save

from core.actors import SYSTEM, Actor
from core.request_context import current_request

from .models import AuditEntry
from .services import record

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "is_active")


def _request_user() -> Actor:
    request = current_request()
    user = getattr(request, "user", None) if request is not None else None
    return Actor(user=user) if user is not None and user.is_authenticated else SYSTEM


def _record_roles(user, *, added: list[str], removed: list[str]) -> None:
    if not added and not removed:
        return
    parts = []
    if added:
        parts.append("added " + ", ".join(sorted(added)))
    if removed:
        parts.append("removed " + ", ".join(sorted(removed)))
    record(
        action=AuditEntry.Action.USER_ROLES_CHANGE,
        actor=_request_user(),
        merchant=user.merchant if getattr(user, "merchant_id", None) else None,
        target=user,
        detail=f"{user.email}: " + "; ".join(parts),
        metadata={"email": user.email, "added": sorted(added), "removed": sorted(removed)},
    )


def user_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    User = get_user_model()
    if action == "pre_clear":
        # After the clear the old memberships are gone: remember them now.
        if reverse:
            instance._audit_cleared = list(instance.user_set.all())
        else:
            instance._audit_cleared = list(instance.groups.values_list("name", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        cleared = getattr(instance, "_audit_cleared", [])
        instance._audit_cleared = []
        if reverse:  # a group lost all its users
            for user in cleared:
                _record_roles(user, added=[], removed=[instance.name])
        else:
            _record_roles(instance, added=[], removed=list(cleared))
        return
    if not pk_set:
        return
    adding = action == "post_add"
    if reverse:  # group.user_set.add(users...)
        names = [instance.name]
        for user in User.objects.filter(pk__in=pk_set).select_related("merchant"):
            _record_roles(user, added=names if adding else [], removed=[] if adding else names)
    else:  # user.groups.add(groups...)
        names = list(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
        _record_roles(instance, added=names if adding else [], removed=[] if adding else names)


def remember_privileges(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    instance._audit_old_privileges = None
    if raw or instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not set(update_fields) & set(PRIVILEGE_FIELDS):
        return  # e.g. the last_login update of every sign-in
    instance._audit_old_privileges = (
        sender.objects.filter(pk=instance.pk).values(*PRIVILEGE_FIELDS).first()
    )


def record_privileges(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    new = {name: getattr(instance, name) for name in PRIVILEGE_FIELDS}
    if created:
        if not (new["is_staff"] or new["is_superuser"]):
            return
        changes = {name: [None, value] for name, value in new.items() if name != "is_active"}
    else:
        old = getattr(instance, "_audit_old_privileges", None)
        if not old:
            return
        changes = {
            name: [old[name], new[name]] for name in PRIVILEGE_FIELDS if old[name] != new[name]
        }
        if not changes:
            return
    record(
        action=AuditEntry.Action.USER_PRIVILEGES_CHANGE,
        actor=_request_user(),
        merchant=instance.merchant if getattr(instance, "merchant_id", None) else None,
        target=instance,
        detail=f"{instance.email}: "
        + ", ".join(f"{name} {before} -> {after}" for name, (before, after) in changes.items()),
        metadata={"email": instance.email, "changes": changes, "created": created},
    )


def connect() -> None:
    User = get_user_model()
    m2m_changed.connect(
        user_groups_changed, sender=User.groups.through, dispatch_uid="audit_user_groups"
    )
    pre_save.connect(remember_privileges, sender=User, dispatch_uid="audit_user_privileges_pre")
    post_save.connect(record_privileges, sender=User, dispatch_uid="audit_user_privileges_post")

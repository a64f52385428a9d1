"""Admin for merchants, users (email sign-in), API keys and idempotency records (SPEC 9).

API keys are created through merchants.services.create_api_key, and their secret is
shown once, in the answer to the add form, and nowhere else (no message, no log, no
column). Keys are revoked (never deleted) through revoke_api_key, with the "Revoke
selected keys" action. Both keep a history (who, when, what changed).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from core.admin import (
    AuditTrailLinkMixin,
    HistoryAdmin,
    NoDeleteMixin,
    ReadOnlyAdminMixin,
)

from .models import ApiKey, IdempotencyRecord, Merchant, User
from .services import create_api_key, revoke_api_key


@admin.register(Merchant)
class MerchantAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "id", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "=id"]
    search_help_text = "Merchant name or id"
    readonly_fields = ["created_at"]


# --- users --------------------------------------------------------------------------------


class EmailUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "merchant")
        field_classes: dict = {}


class EmailUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes: dict = {}


@admin.register(User)
class UserAdmin(AuditTrailLinkMixin, DjangoUserAdmin):
    """Django's UserAdmin for a user that signs in with an email and has no username.
    Role and privilege changes are recorded in the audit trail (audit.signals)."""

    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ["email"]
    list_display = ["email", "merchant", "roles", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups", "merchant"]
    search_fields = ["email", "first_name", "last_name", "merchant__name"]
    search_help_text = "Email, name or merchant"
    list_select_related = ["merchant"]
    filter_horizontal = ["groups", "user_permissions"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Merchant and roles", {"fields": ["merchant", "groups"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "user_permissions"]},
        ),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
        ("Audit", {"fields": ["audit_trail"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "merchant", "usable_password", "password1", "password2"],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined", "audit_trail"]
        if not request.user.is_superuser:
            # Only a superuser makes superusers or grants permissions one by one.
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    @admin.display(description="Roles")
    def roles(self, obj: User) -> str:
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "—"


# --- API keys ------------------------------------------------------------------------------


class ApiKeyCreateForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["merchant", "name", "mode"]


@admin.register(ApiKey)
class ApiKeyAdmin(NoDeleteMixin, AuditTrailLinkMixin, HistoryAdmin):
    list_display = [
        "prefix_display",
        "merchant",
        "name",
        "mode",
        "is_active",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["mode", ("revoked_at", admin.EmptyFieldListFilter), "merchant"]
    search_fields = ["=id", "prefix", "name", "merchant__name"]
    search_help_text = "Key id, prefix (sk_test_…), name or merchant"
    list_select_related = ["merchant", "created_by"]
    actions = ["revoke_selected_keys"]
    history_list_display = ["name", "revoked_at", "revoked_by"]
    # Never shown: the hash (useless to a person, and not something to copy around).
    fields = [
        "id",
        "merchant",
        "name",
        "mode",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
        "audit_trail",
    ]
    # Only the name can be changed; a key is revoked by the action, never edited.
    readonly_fields = [name for name in fields if name != "name"]

    def get_fields(self, request, obj=None):
        return ApiKeyCreateForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = create_api_key(
            merchant=form.cleaned_data["merchant"],
            name=form.cleaned_data.get("name") or "",
            mode=form.cleaned_data["mode"],
            created_by=request.user,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the created key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding = False
        obj._state.db = key._state.db
        # Kept on the request only, for response_add; gone when the request ends.
        request._api_key_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_api_key_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        del request._api_key_secret
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "secret": secret,
            "title": "API key created",
        }
        response = TemplateResponse(request, "merchants/api_key_created.html", context)
        add_never_cache_headers(response)  # Cache-Control: no-store for the secret
        return response

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected_keys(self, request, queryset):
        revoked = 0
        for key in queryset.select_related("merchant").filter(revoked_at__isnull=True):
            revoke_api_key(merchant=key.merchant, key_id=key.id, revoked_by=request.user)
            revoked += 1
        if revoked:
            self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
        else:
            self.message_user(request, "The selected keys were already revoked.", messages.INFO)

    @admin.display(description="Key", ordering="prefix")
    def prefix_display(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="Active", boolean=True)
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active


# --- idempotency ------------------------------------------------------------------------------


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "key",
        "merchant",
        "request_method",
        "request_path",
        "status",
        "response_status",
        "created_at",
    ]
    list_filter = ["status", "request_method", "response_status", "merchant"]
    search_fields = ["key", "request_path"]
    search_help_text = "Idempotency key or request path"
    date_hierarchy = "created_at"
    list_select_related = ["merchant"]

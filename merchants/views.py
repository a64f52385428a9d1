"""Sign-in and the landing page; the merchant's API keys (merchant admins, SPEC 1 and
8.1): the list, create (the secret shown once) and revoke (a confirmation dialog)."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.confirm import confirm_dialog
from core.dashboard import dashboard_view
from core.forms import SecretOnce, submit_once
from core.htmx import dialog_done, hx_events, render_dialog, render_page

from . import selectors, services
from .forms import ApiKeyCreateForm, ApiKeyRevokeForm, EmailAuthenticationForm


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


login = LoginView.as_view()
logout = auth_views.LogoutView.as_view()  # POST only


def home(request):
    """Where `/` leads: a merchant's members to the payments, platform staff to the
    blacklist (they see no merchant's pages)."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if user.merchant_id is not None and user.has_perm("payments.view_payment"):
        return redirect("payments:list")
    if user.has_perm("customers.view_blacklistentry"):
        return redirect("customers:blacklist")
    raise PermissionDenied("Your account has no dashboard role yet.")


# --- API keys ---------------------------------------------------------------------------------


@dashboard_view("merchants.manage_api_keys")
@require_GET
def api_keys(request: HttpRequest) -> HttpResponse:
    context = {"nav": "api_keys", "keys": selectors.list_api_keys(merchant=request.merchant)}
    return render_page(request, "merchants/api_keys.html", context, partial="keys")


@dashboard_view("merchants.manage_api_keys")
@never_cache  # Cache-Control: no-store: the answer to the POST holds the secret
def api_key_create(request: HttpRequest) -> HttpResponse:
    """The create dialog: one key per form token, its secret shown in the answer to
    that POST and never again (a resubmitted form says it was already shown)."""
    form = ApiKeyCreateForm(request.POST or None)
    context = {"nav": "api_keys", "form": form}
    if request.method == "POST" and form.is_valid():
        create = SecretOnce(
            lambda: services.create_api_key(
                merchant=request.merchant,
                name=form.cleaned_data["name"],
                mode=form.cleaned_data["mode"],
                created_by=request.user,
            )
        )
        if key_id := submit_once(request, form, purpose="api_key_create", action=create):
            context |= {
                "key": selectors.get_api_key(merchant=request.merchant, key_id=key_id),
                "secret": create.secret,
            }
            response = render_dialog(
                request, "merchants/api_key_create.html", context, title="API key created"
            )
            return hx_events(response, apiKeysChanged=True)
    return render_dialog(request, "merchants/api_key_create.html", context, title="New API key")


@dashboard_view("merchants.manage_api_keys")
def api_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    """The revoke dialog: revoke once per form token, after the person confirmed."""
    key = selectors.get_api_key(merchant=request.merchant, key_id=key_id)
    if key is None:
        raise Http404("No such API key")
    return confirm_dialog(
        request,
        ApiKeyRevokeForm(request.POST or None),
        purpose=f"api_key_revoke:{key.id}",
        action=lambda: (
            services.revoke_api_key(
                merchant=request.merchant, key_id=key.id, revoked_by=request.user
            ).id
        ),
        answer=lambda: dialog_done(
            request,
            toast=f"API key {key.prefix}… revoked",
            redirect_to=reverse("api_keys"),
            apiKeysChanged=True,
        ),
        allowed=key.is_active,
        template="merchants/api_key_revoke.html",
        context={"nav": "api_keys", "key": key},
        title="Revoke API key",
    )

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .forms import EmailAuthenticationForm


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

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from core.forms import TokenForm

from .models import ApiKey


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with an email address (User.USERNAME_FIELD is the email)."""

    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class ApiKeyCreateForm(TokenForm):
    """The create dialog: a key is made once per form token (a resubmit makes none)."""

    name = forms.CharField(
        label="Name",
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What uses this key, e.g. “Checkout server”. Shown in the list and the activity.",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    mode = forms.ChoiceField(
        label="Mode",
        choices=ApiKey.Mode.choices,
        initial=ApiKey.Mode.TEST,
        help_text="Test keys (sk_test_…) reach the sandbox; live keys (sk_live_…) move real money.",
    )


class ApiKeyRevokeForm(TokenForm):
    """The revoke dialog's confirmation: only its form token."""

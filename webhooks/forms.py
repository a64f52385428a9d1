from django import forms

from core.forms import TokenForm

from .models import EVENT_TYPES, MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH


class EndpointForm(TokenForm):
    """Register or edit an endpoint (the services check the URL and its addresses)."""

    url = forms.CharField(
        label="Endpoint URL",
        max_length=MAX_URL_LENGTH,
        help_text="Where the events are POSTed, e.g. https://shop.example/webhooks.",
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "inputmode": "url"}
        ),
    )
    description = forms.CharField(
        label="Description", max_length=MAX_DESCRIPTION_LENGTH, required=False
    )
    event_types = forms.MultipleChoiceField(
        label="Events to send",
        choices=[(name, f"{name} — {words}") for name, words in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    def endpoint_fields(self) -> dict:
        """What the create and update services take of the form."""
        return {name: self.cleaned_data[name] for name in ("url", "event_types", "description")}


class ConfirmForm(TokenForm):
    """A confirmation dialog's form: only its form token."""

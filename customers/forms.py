from django import forms

from core.lists import CreatedBetweenForm, ListFilterForm

from .models import MAX_EMAIL_LENGTH, MAX_REASON_LENGTH, Customer


class CustomerSearchForm(CreatedBetweenForm):
    """The customers list's query string: ?q=&created_from=&created_to= and the cursor
    (rendered by its template)."""

    q = forms.CharField(label="Search", required=False, max_length=MAX_EMAIL_LENGTH)
    field_order = ["q", "created_from", "created_to"]

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "search": data["q"] or None,
            "created_from": data["created_from"],
            "created_to": data["created_to"],
        }


class RestrictionsForm(forms.Form):
    """The customer's restrictions. Each field carries the value the form was opened
    with (show_hidden_initial), so only what the person changed is saved: a form left
    open while a chargeback restricted the customer does not lift that restriction."""

    restrict_cit = forms.BooleanField(
        label="Restrict customer-initiated payments (CIT)",
        required=False,
        show_hidden_initial=True,
    )
    restrict_mit = forms.BooleanField(
        label="Restrict recurring / merchant-initiated payments (MIT)",
        required=False,
        show_hidden_initial=True,
        help_text="Also cancels the customer's active subscriptions at their period end.",
    )
    restrict_reason = forms.CharField(
        label="Reason", required=False, max_length=MAX_REASON_LENGTH, show_hidden_initial=True
    )

    def changes(self) -> dict:
        """The fields the person changed, for the service (which changes only those)."""
        return {name: self.cleaned_data[name] for name in self.changed_data}

    @classmethod
    def for_customer(cls, customer: Customer) -> "RestrictionsForm":
        return cls(
            initial={
                "restrict_cit": customer.restrict_cit,
                "restrict_mit": customer.restrict_mit,
                "restrict_reason": customer.restrict_reason,
            }
        )


class BlacklistSearchForm(ListFilterForm):
    """The blacklist's query string: ?q=&state= and the cursor (an entry's number)."""

    after = forms.IntegerField(label="Page", required=False, min_value=1)
    before = forms.IntegerField(label="Page", required=False, min_value=1)
    q = forms.CharField(label="Search", required=False, max_length=MAX_EMAIL_LENGTH)
    views = ("state",)
    state = forms.ChoiceField(
        label="Show",
        choices=[("", "Blacklisted"), ("removed", "Removed (history)")],
        required=False,
    )

    def filters(self) -> dict:
        return {
            "search": self.cleaned_data["q"] or None,
            "removed": self.cleaned_data["state"] == "removed",
        }


class BlacklistAddForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=MAX_EMAIL_LENGTH)
    reason = forms.CharField(label="Reason", max_length=MAX_REASON_LENGTH)


class BlacklistRemoveForm(forms.Form):
    """Shown in a dialog over the blacklist page, whose add form also has a "reason":
    its own ids keep every label pointing at its own field."""

    reason = forms.CharField(
        label="Why is it removed?",
        max_length=MAX_REASON_LENGTH,
        widget=forms.TextInput(attrs={"autofocus": True}),
        help_text="Kept in the entry's history.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_remove_%s")
        super().__init__(*args, **kwargs)

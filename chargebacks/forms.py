from django import forms

from core.forms import TokenForm
from customers.models import MAX_REASON_LENGTH


class RecordChargebackForm(TokenForm):
    """Record a chargeback, optionally acting on the customer at the same time. A box
    left unticked changes nothing (it does not lift an existing restriction)."""

    blacklist_customer = forms.BooleanField(
        label="Blacklist the customer's email",
        required=False,
        help_text="Blocks every payment with this email, at every merchant.",
    )
    blacklist_reason = forms.CharField(
        label="Why blacklist this email?",
        required=False,
        max_length=MAX_REASON_LENGTH,
        help_text="Kept on the blacklist entry; the platform admins read it.",
    )
    confirm_blacklist = forms.BooleanField(
        label="Yes, refuse this email at every merchant on the platform", required=False
    )
    restrict_mit = forms.BooleanField(label="Restrict recurring payments", required=False)
    restrict_cit = forms.BooleanField(label="Restrict customer-initiated payments", required=False)
    restrict_reason = forms.CharField(
        label="Restriction reason",
        required=False,
        max_length=MAX_REASON_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Chargeback on pay_…"}),
    )

    CUSTOMER_FIELDS = (
        "blacklist_customer",
        "blacklist_reason",
        "confirm_blacklist",
        "restrict_mit",
        "restrict_cit",
        "restrict_reason",
    )

    def __init__(self, *args, has_customer: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_customer = has_customer
        if not has_customer:
            for name in self.CUSTOMER_FIELDS:
                del self.fields[name]
        else:
            self.fields["blacklist_customer"].widget.attrs["autofocus"] = True

    def clean(self):
        data = super().clean()
        if data.get("blacklist_customer"):
            # Platform-wide: asked twice, and never without the agent's own reason.
            if not data.get("blacklist_reason"):
                self.add_error("blacklist_reason", "Say why this email is blacklisted.")
            if not data.get("confirm_blacklist"):
                self.add_error(
                    "confirm_blacklist", "Confirm that this email is refused at every merchant."
                )
        if data.get("restrict_reason") and not (
            data.get("restrict_mit") or data.get("restrict_cit")
        ):
            self.add_error("restrict_reason", "Tick a restriction for this reason to apply to.")
        return data

    @property
    def customer_restrictions(self) -> dict | None:
        """Only what was asked for; None when no restriction was ticked."""
        if not self.has_customer:
            return None
        data = self.cleaned_data
        restrictions = {key: True for key in ("restrict_mit", "restrict_cit") if data.get(key)}
        if not restrictions:
            return None
        if data.get("restrict_reason"):
            restrictions["restrict_reason"] = data["restrict_reason"]
        return restrictions

    @property
    def should_blacklist(self) -> bool:
        return self.has_customer and bool(self.cleaned_data.get("blacklist_customer"))

    @property
    def reason_for_blacklist(self) -> str | None:
        return self.cleaned_data.get("blacklist_reason") if self.should_blacklist else None

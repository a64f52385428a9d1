from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from core import money
from core.forms import AmountField, TokenForm
from core.lists import ListFilterForm, forward_only
from core.paging import Page, Pager, pager
from customers.models import MAX_REASON_LENGTH

from .models import EVIDENCE_TEXT_FIELDS, MAX_EVIDENCE_TEXT_LENGTH, MAX_REASON_CODE_LENGTH, Dispute


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

    # Each optional: left out, the dispute takes the service's default (the captured
    # amount, reason general, network other, deadline in DISPUTE_RESPONSE_DAYS).
    amount = AmountField(label="Disputed amount", required=False)
    reason_category = forms.ChoiceField(
        label="Reason", choices=Dispute.ReasonCategory.choices, initial="general", required=False
    )
    reason_code = forms.CharField(
        label="Network reason code",
        required=False,
        max_length=MAX_REASON_CODE_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "e.g. 10.4 or 4837"}),
    )
    network = forms.ChoiceField(
        label="Card network", choices=Dispute.Network.choices, required=False
    )
    evidence_due_by = forms.DateField(
        label="Evidence due by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The network's deadline for your evidence (end of that day, UTC).",
    )

    CUSTOMER_FIELDS = (
        "blacklist_customer",
        "blacklist_reason",
        "confirm_blacklist",
        "restrict_mit",
        "restrict_cit",
        "restrict_reason",
    )

    def __init__(self, *args, payment, **kwargs):
        self.payment = payment
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("amount", money.format_input(payment.amount_captured, payment.currency))
        initial.setdefault(
            "network", Dispute.Network.of_card_brand((payment.payment_method or {}).get("brand"))
        )
        initial.setdefault(
            "evidence_due_by",
            timezone.localdate() + timedelta(days=settings.DISPUTE_RESPONSE_DAYS),
        )
        super().__init__(*args, **kwargs)
        has_customer = payment.customer_id is not None
        self.has_customer = has_customer
        self.fields["amount"].currency = payment.currency
        self.fields["amount"].help_text = (
            f"In {payment.currency}; at most {payment.format_amount(payment.amount_captured)}, "
            "the captured amount."
        )
        if not has_customer:
            for name in self.CUSTOMER_FIELDS:
                del self.fields[name]
        else:
            self.fields["blacklist_customer"].widget.attrs["autofocus"] = True

    def clean_evidence_due_by(self) -> datetime | None:
        day = self.cleaned_data["evidence_due_by"]
        if day is None:
            return None
        if day < timezone.localdate():
            raise forms.ValidationError("The deadline cannot be in the past.")
        # The end of that day: a deadline "by the 12th" includes the 12th.
        return timezone.make_aware(datetime.combine(day, time.max))

    @property
    def dispute_terms(self) -> dict:
        data = self.cleaned_data
        return {
            "amount": data["amount"],
            "network": data["network"] or None,
            "reason_code": data["reason_code"],
            "reason_category": data["reason_category"] or None,
            "evidence_due_by": data["evidence_due_by"],
        }

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


# --- disputes ------------------------------------------------------------------------------


class DisputeFilterForm(ListFilterForm):
    """The disputes queue's query string: ?status=&overdue=, and the cursor. Needs
    response first, then soonest deadline first; paged forward (Older → reads "Later")."""

    status = forms.ChoiceField(
        label="Status", choices=[("", "All statuses"), *Dispute.Status.choices], required=False
    )
    overdue = forms.ChoiceField(
        label="Deadline",
        choices=[("", "Any deadline"), ("true", "Overdue"), ("false", "Not overdue")],
        required=False,
    )

    def filters(self) -> dict:
        overdue = self.cleaned_data.get("overdue")
        return {
            "status": self.cleaned_data.get("status") or None,
            "overdue": {"true": True, "false": False}.get(overdue),
        }

    def page(self, list_rows, **kwargs) -> tuple[Page, str | None]:
        return super().page(forward_only(list_rows), **kwargs)

    def pager(self, page: Page) -> Pager | None:
        """Forward only: back to the first page, never "Newer"."""
        if not self.is_valid():
            return None
        return pager(self.url, page, filters=self.query(), after=self.cleaned_data["after"])


def _evidence_text(label: str, *, rows: int | None = 3, help_text: str = "") -> forms.CharField:
    """An evidence field: optional, text of at most MAX_EVIDENCE_TEXT_LENGTH characters
    (a text area of `rows`, or one line)."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=MAX_EVIDENCE_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput(),
        help_text=help_text,
    )


class EvidenceForm(forms.Form):
    """The evidence fields, saved as drafts while typed (a merge of what is sent)."""

    product_description = _evidence_text(
        "Product or service description",
        help_text="What was sold, and when it was delivered or performed.",
    )
    customer_communication = _evidence_text(
        "Customer communication",
        help_text="Emails or messages showing the customer received or used it.",
    )
    refund_policy = _evidence_text(
        "Refund policy", rows=2, help_text="Your policy as the customer saw it at checkout."
    )
    shipping_tracking_number = _evidence_text("Shipping tracking number", rows=None)
    uncategorized_text = _evidence_text("Anything else")

    def evidence(self) -> dict[str, str]:
        """Only the fields that were sent: a draft save of one field leaves the rest."""
        return {name: self.cleaned_data[name] for name in EVIDENCE_TEXT_FIELDS if name in self.data}


class EvidenceFileForm(forms.Form):
    file = forms.FileField(
        label="Add a file",
        help_text="PDF, PNG or JPEG, up to 5 MB; at most 10 files.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )


class SubmitEvidenceForm(TokenForm):
    confirm = forms.BooleanField(
        label="I have added all the evidence: submit it to the card network",
        required=True,
        error_messages={"required": "Confirm that the evidence is complete."},
    )


class AcceptDisputeForm(TokenForm):
    confirm = forms.BooleanField(
        label="Accept the dispute: the disputed amount is not coming back",
        required=True,
        error_messages={"required": "Confirm that you accept the loss."},
    )


class DisputeOutcomeForm(TokenForm):
    outcome = forms.ChoiceField(
        label="The network decided",
        choices=[("won", "Won: the amount comes back"), ("lost", "Lost: the amount stays out")],
        widget=forms.RadioSelect,
    )

from datetime import date

from django import forms
from django.utils import timezone

from core import money
from core.forms import TokenForm

from . import dashboard_selectors
from .models import MAX_NOTE_LENGTH, DisplayStatus, Payment, Transaction


class PaymentFilterForm(forms.Form):
    """The payments list's query string: ?status=&q=&after= (a plain GET form)."""

    status = forms.ChoiceField(
        label="Status",
        choices=[("", "All statuses"), *DisplayStatus.choices],
        required=False,
    )
    q = forms.CharField(label="Search", required=False, max_length=255)
    after = forms.CharField(required=False, max_length=40)


class ReversalForm(TokenForm):
    """Refund (captured) or void (not captured) a payment; the amount in major units.

    The form only reads what the person typed (core.money.parse_major: exact, never a
    guess); what may be reversed is the service's rule, decided under the payment's row
    lock, and its refusal is shown on the field it names.
    """

    amount = forms.CharField(
        label="Amount",
        max_length=64,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.ChoiceField(
        label="Reason",
        choices=Transaction.Reason.choices,
        initial=Transaction.Reason.REQUESTED_BY_CUSTOMER,
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the reason is Other.",
    )
    is_external = forms.BooleanField(
        label="Already refunded at the gateway (record only)", required=False
    )
    confirm_chargeback = forms.BooleanField(
        label="I understand: the customer already got this money back through the chargeback",
        required=False,
    )

    def __init__(self, *args, payment: Payment, **kwargs):
        self.payment = payment
        kwargs.setdefault(
            "initial", {"amount": money.format_input(payment.amount_reversible, payment.currency)}
        )
        super().__init__(*args, **kwargs)
        self.is_void = not payment.is_captured
        if self.is_void:
            # A void always releases the whole authorization.
            del self.fields["amount"]
            self.fields["reason"].widget.attrs["autofocus"] = True
            self.fields["is_external"].label = "Already voided at the gateway (record only)"
        else:
            self.fields["amount"].widget.attrs["autofocus"] = True
            self.fields["amount"].help_text = (
                f"In {payment.currency}; at most "
                f"{money.format_minor(payment.amount_reversible, payment.currency)}."
            )
        if not payment.is_chargebacked:
            del self.fields["confirm_chargeback"]

    def clean_amount(self) -> int:
        try:
            return money.parse_major(self.cleaned_data["amount"], self.payment.currency)
        except money.MoneyError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_confirm_chargeback(self) -> bool:
        confirmed = self.cleaned_data["confirm_chargeback"]
        if not confirmed:
            raise forms.ValidationError(
                "This payment was charged back: confirm that you want to return money again."
            )
        return confirmed

    @property
    def minor_amount(self) -> int | None:
        return None if self.is_void else self.cleaned_data["amount"]


class OverviewRangeForm(forms.Form):
    """The overview's range: ?days=7|30|90, or ?from=YYYY-MM-DD&to=YYYY-MM-DD (both
    inclusive, at most MAX_DAYS, not in the future). `window()` is the range asked,
    or the last 30 days when it is not valid (the errors say why)."""

    days = forms.TypedChoiceField(
        label="Range",
        choices=[(n, f"Last {n} days") for n in dashboard_selectors.RANGES]
        + [("", "Custom dates")],
        coerce=int,
        empty_value=None,
        required=False,
        initial=dashboard_selectors.DEFAULT_DAYS,
    )

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        # "from" is a Python keyword: these two are added by name.
        date_input = forms.DateInput(attrs={"type": "date", "max": self.today.isoformat()})
        self.fields["from"] = forms.DateField(label="From", required=False, widget=date_input)
        self.fields["to"] = forms.DateField(label="To", required=False, widget=date_input)

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("from"), cleaned.get("to")
        if first is None and last is None:
            return cleaned
        if first is None or last is None:
            raise forms.ValidationError("Give both dates of the range, or choose a preset.")
        if first > last:
            raise forms.ValidationError("The range starts after it ends.")
        if last > self.today:
            self.add_error("to", "The range cannot end in the future.")
        elif (last - first).days + 1 > dashboard_selectors.MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {dashboard_selectors.MAX_DAYS} days.")
        return cleaned

    def window(self) -> tuple[date, date]:
        """(first day, last day) of the range asked, inclusive."""
        if self.is_bound and self.is_valid():
            if self.cleaned_data.get("from"):
                return self.cleaned_data["from"], self.cleaned_data["to"]
            if self.cleaned_data.get("days"):
                return dashboard_selectors.window(days=self.cleaned_data["days"], today=self.today)
        return dashboard_selectors.window(days=dashboard_selectors.DEFAULT_DAYS, today=self.today)

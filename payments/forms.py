from datetime import date

from django import forms
from django.urls import reverse
from django.utils import timezone

from core import money
from core.forms import AmountField, QuickSelect, TokenForm
from core.lists import CreatedBetweenForm

from . import dashboard_selectors
from .models import (
    MAX_NOTE_LENGTH,
    MAX_ORDER_ID_LENGTH,
    ApprovalThreshold,
    DisplayStatus,
    Payment,
    Transaction,
)
from .selectors import AMOUNT_NEEDS_CURRENCY


class PaymentFilterForm(CreatedBetweenForm):
    """The payments list's query string (a plain GET form): ?q=&status=&currency=
    &amount_min=&amount_max=&created_from=&created_to=, and the cursor."""

    q = forms.CharField(label="Search", required=False, max_length=MAX_ORDER_ID_LENGTH)
    status = forms.ChoiceField(
        label="Status",
        choices=[("", "All statuses"), *DisplayStatus.choices],
        required=False,
        widget=QuickSelect,
    )
    currency = forms.ChoiceField(
        label="Currency",
        choices=[("", "Any currency"), *((code, code) for code in sorted(money.CURRENCIES))],
        required=False,
        widget=QuickSelect,
    )
    # In major units, read exactly (core.money.parse_major) in the chosen currency.
    amount_min = AmountField(label="Amount from", required=False, max_length=32)
    amount_max = AmountField(label="Amount to", required=False, max_length=32)
    field_order = ["q", "status", "created_from", "created_to", "currency"]

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("currency")
        for name in ("amount_min", "amount_max"):
            text = cleaned.get(name)
            cleaned[name] = None
            if not text:
                continue
            if not currency:
                if "currency" not in self.errors:
                    self.add_error("currency", AMOUNT_NEEDS_CURRENCY)
                continue
            try:
                cleaned[name] = money.parse_major(text, currency)
            except money.MoneyError as error:
                self.add_error(name, str(error))
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "search": data["q"] or None,
            "display_status": data["status"] or None,
            "created_from": data["created_from"],
            "created_to": data["created_to"],
            "currency": data["currency"] or None,
            "amount_min": data["amount_min"],
            "amount_max": data["amount_max"],
        }

    def describe(self, name: str, value) -> str:
        if name in ("amount_min", "amount_max"):
            return money.format_minor(value, self.cleaned_data["currency"])
        return super().describe(name, value)


class ReversalForm(TokenForm):
    """Refund (captured) or void (not captured) a payment; the amount in major units.

    The form only reads what the person typed (core.money.parse_major: exact, never a
    guess); what may be reversed is the service's rule, decided under the payment's row
    lock, and its refusal is shown on the field it names.
    """

    amount = AmountField(label="Amount")
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

    def __init__(
        self, *args, payment: Payment, approval_threshold: ApprovalThreshold | None = None, **kwargs
    ):
        self.payment = payment
        # SPEC 13: a refund over it waits for another admin's approval (None: no threshold).
        self.approval_threshold = approval_threshold
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
            self.fields["amount"].currency = payment.currency
            # As it is typed, the dialog says in words what will be refunded.
            self.fields["amount"].widget.attrs.update(
                {
                    "autofocus": True,
                    "hx-get": reverse("payments:reverse_summary", args=[payment.id]),
                    "hx-trigger": "input delay:200ms",
                    "hx-include": "closest form",
                    "hx-target": "#reversal-summary",
                    "hx-swap": "outerHTML",
                }
            )
            self.fields["is_external"].widget.attrs.update(
                {
                    "data-submit-label": "Record refund",
                    "hx-get": reverse("payments:reverse_summary", args=[payment.id]),
                    "hx-trigger": "change",
                    "hx-include": "closest form",
                    "hx-target": "#reversal-summary",
                    "hx-swap": "outerHTML",
                }
            )
            self.fields["amount"].help_text = (
                f"In {payment.currency}; at most "
                f"{money.format_minor(payment.amount_reversible, payment.currency)}."
            )
        if not payment.chargeback_outstanding:
            del self.fields["confirm_chargeback"]

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

    def summary(self) -> str:
        """What sending the form will do, in words (SPEC 2): "Refund $5.00 of $120.00 to
        jane@example.com". The amount is read exactly as the service will read it; what
        cannot be read says so."""
        payment = self.payment
        fmt = payment.format_amount
        to = f" to {payment.customer.email}" if payment.customer_id else ""
        if self.is_void:
            return f"Void the authorization of {fmt(payment.amount)}{to}: nothing will be charged."
        raw = self.data.get("amount") if self.is_bound else self.initial.get("amount")
        try:
            amount = money.parse_major(raw or "", payment.currency)
        except money.MoneyError as error:
            return f"Nothing will be refunded yet: {error}."
        of = f"{fmt(amount)} of {fmt(payment.amount_captured)}"
        if self.is_bound and self.data.get("is_external"):
            return f"Record a refund of {of} already made at the gateway (nothing is sent)."
        if self.needs_approval(amount):
            return (
                f"Ask to refund {of}{to}. It is over the approval threshold of "
                f"{self.approval_threshold.amount_display}: it waits for another admin's approval "
                "before it is sent."
            )
        return f"Refund {of}{to}."

    def needs_approval(self, amount: int) -> bool:
        """Strictly over the threshold, as payments.approvals.needs_approval decides."""
        threshold = self.approval_threshold
        return threshold is not None and amount > threshold.amount

    def dispute_warning(self) -> str | None:
        """A warning (never a refusal: SPEC 10, a chargebacked payment can still be
        refunded) when the refund typed so far plus what is disputed would be more than
        was captured: the customer would get the money back twice."""
        payment = self.payment
        if self.is_void or not payment.amount_disputed:
            return None
        raw = self.data.get("amount") if self.is_bound else self.initial.get("amount")
        try:
            amount = money.parse_major(raw or "", payment.currency)
        except money.MoneyError:
            return None
        if payment.amount_reversed + amount + payment.amount_disputed <= payment.amount_captured:
            return None
        fmt = payment.format_amount
        return (
            f"{fmt(payment.amount_disputed)} of this payment is disputed: with this refund, "
            f"{fmt(payment.amount_reversed + amount + payment.amount_disputed)} would go back "
            f"to the customer out of {fmt(payment.amount_captured)} captured."
        )


class CaptureForm(TokenForm):
    """Capture all of an authorization, or a part of it (in major units, read exactly)."""

    amount = AmountField(label="Amount to capture")

    def __init__(self, *args, payment: Payment, **kwargs):
        self.payment = payment
        kwargs.setdefault(
            "initial", {"amount": money.format_input(payment.amount, payment.currency)}
        )
        super().__init__(*args, **kwargs)
        amount = self.fields["amount"]
        amount.currency = payment.currency
        amount.widget.attrs["autofocus"] = True
        amount.help_text = (
            f"In {payment.currency}; at most {payment.amount_display}. "
            "What is not captured is released to the customer."
        )


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


class RefundRejectForm(TokenForm):
    """Reject a refund held for approval, with an optional note for the one who asked."""

    note = forms.CharField(
        label="Note",
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
        help_text="Why it is rejected; shown on the payment's timeline.",
    )


class RefundApproveForm(TokenForm):
    """Approve a refund held for approval: the form only carries its one-use token."""


class ApprovalThresholdForm(forms.Form):
    """Set a currency's approval threshold in major units (exact, core.money.parse_major);
    an empty amount removes it."""

    currency = forms.ChoiceField(
        label="Currency",
        choices=[(code, code) for code in sorted(money.CURRENCIES)],
        widget=QuickSelect,
    )
    amount = AmountField(
        label="Refunds over",
        required=False,
        max_length=32,
        help_text="In the currency's major units, e.g. 500 or 500.00. Leave empty to remove "
        "the threshold: refunds in this currency then need no approval.",
    )

    def clean(self):
        cleaned = super().clean()
        currency, text = cleaned.get("currency"), cleaned.get("amount")
        cleaned["minor_amount"] = None
        if currency and text:
            try:
                cleaned["minor_amount"] = money.parse_major(text, currency)
            except money.MoneyError as error:
                self.add_error("amount", str(error))
        return cleaned

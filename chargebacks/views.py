"""The record-chargeback dialog (a page without JavaScript)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from merchants.dashboard import FormToken, actor_for, dashboard_view, dialog_done, wants_partial
from merchants.errors import DomainError
from payments.views import get_payment_or_404

from . import services
from .forms import RecordChargebackForm

# Service params (camelCase, maybe prefixed "customerRestrictions.") -> form fields.
_FIELDS = {
    "blacklistCustomer": "blacklist_customer",
    "restrictMit": "restrict_mit",
    "restrictCit": "restrict_cit",
    "restrictReason": "restrict_reason",
}


def _field_for(param: str | None) -> str | None:
    return _FIELDS.get((param or "").rsplit(".", 1)[-1])


def _done(request: HttpRequest, payment_id: str) -> HttpResponse:
    text = "Chargeback recorded"
    if wants_partial(request):
        return dialog_done(toast=text, paymentChanged={"id": payment_id})
    messages.success(request, text)
    return redirect("payments:detail", payment_id=payment_id)


@dashboard_view("payments.view_payment", "chargebacks.add_chargeback")
def record_chargeback(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_payment_or_404(request, payment_id)
    has_customer = payment.customer_id is not None
    if request.method == "POST":
        form = RecordChargebackForm(request.POST, has_customer=has_customer)
        if form.is_valid():
            token = FormToken(
                merchant=request.merchant,
                user_id=request.user.pk,
                purpose=f"chargeback:{payment.id}",
                token=form.cleaned_data["token"],
            )
            if token.claim():
                try:
                    services.record_chargeback(
                        merchant=request.merchant,
                        payment_id=payment.id,
                        actor=actor_for(request),
                        blacklist_customer=form.should_blacklist,
                        customer_restrictions=form.customer_restrictions,
                    )
                except DomainError as refused:
                    token.release()
                    field = _field_for(refused.param)
                    form.add_error(field if field in form.fields else None, refused.message)
                else:
                    token.complete(payment.id)
                    return _done(request, payment.id)
            elif token.outcome() is not None:
                return _done(request, payment.id)
            else:
                form.add_error(None, "This chargeback is already being recorded. Please wait.")
    else:
        form = RecordChargebackForm(has_customer=has_customer)

    context = {
        "form": form,
        "payment": payment,
        "customer": payment.customer,
        "amount_display": payment.format_amount(payment.amount),
        "dialog_title": "Record chargeback",
        "dialog_body": "chargebacks/record.html#form",
    }
    # In a dialog the form posts with HTMX; on its own page (no JS) it is a plain form.
    context["in_dialog"] = wants_partial(request)
    if wants_partial(request):
        template = "_dialog.html" if request.method == "GET" else "chargebacks/record.html#form"
        return render(request, template, context)
    return render(request, "chargebacks/record.html", context)

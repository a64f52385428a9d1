"""The record-chargeback dialog (a page without JavaScript)."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.dashboard import actor_for, dashboard_view
from core.forms import submit_once
from core.htmx import dialog_done, render_dialog
from payments.views import get_payment_or_404

from . import services
from .forms import RecordChargebackForm


@dashboard_view("payments.view_payment", "chargebacks.add_chargeback")
def record_chargeback(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_payment_or_404(request, payment_id)
    form = RecordChargebackForm(request.POST or None, has_customer=payment.customer_id is not None)
    if request.method == "POST" and form.is_valid():
        recorded = submit_once(
            request,
            form,
            purpose=f"chargeback:{payment.id}",
            busy="This chargeback is already being recorded. Please wait.",
            action=lambda: (
                services.record_chargeback(
                    merchant=request.merchant,
                    payment_id=payment.id,
                    actor=actor_for(request),
                    blacklist_customer=form.should_blacklist,
                    blacklist_reason=form.reason_for_blacklist,
                    customer_restrictions=form.customer_restrictions,
                ).id
            ),
        )
        if recorded is not None:
            return dialog_done(
                request,
                toast="Chargeback recorded",
                redirect_to=reverse("payments:detail", args=[payment.id]),
                paymentChanged={"id": payment.id},
            )
    context = {
        "form": form,
        "payment": payment,
        "customer": payment.customer,
        "amount_display": payment.amount_display,
    }
    return render_dialog(request, "chargebacks/record.html", context, title="Record chargeback")
